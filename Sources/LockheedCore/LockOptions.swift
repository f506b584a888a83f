/// How a ``Lock`` acquires and keeps its lease: the Go original's directives as one value.
public struct LockOptions: Sendable, Hashable {
    /// How long each grant or renewal lasts; `nil` means the lease never expires.
    public var duration: Duration? = .seconds(30)
    /// How often to renew; `nil` means a third of `duration`. Must be shorter than `duration`.
    public var renewInterval: Duration? = nil
    /// Whether ``Lock/acquire()`` keeps the lease alive in the background until release.
    public var keepAlive: Bool = true
    /// Mutex, or shared with a holder limit.
    public var type: LockType = .mutex
    /// Tags added to the lock on acquire.
    public var tags: [String] = []
    /// Replace the lock's tags with `tags` instead of adding them.
    public var resetTags: Bool = false
    /// Take the lock over from other holders when its state matches this condition.
    public var force: Condition? = nil
    /// How acquiring retries a busy lock.
    public var retry: RetryPolicy = .none
    /// How long acquiring keeps retrying a backend that is unreachable or failing (not a held
    /// lock: that is `retry`'s business) before it throws; `nil` retries it for as long as
    /// `retry` allows. Counted from the first failure of a run of failures.
    public var backendTimeout: Duration? = .seconds(30)

    /// The defaults: a 30 s mutex lease renewed every 10 s, no retry.
    public init() {}

    /// The renew interval in force: the explicit one, or a third of a finite duration.
    public var effectiveRenewInterval: Duration? {
        if let renewInterval { return renewInterval }
        return duration.map { $0 / 3 }
    }

    /// Throws ``LockheedError/invalidConfiguration(_:)`` unless the options can work together:
    /// in particular `duration > renewInterval`, so a renewal always lands before expiry.
    public func validate() throws(LockheedError) {
        try AcquireRequest.validateDuration(duration)
        try Validation.validateTags(tags)
        try type.validate()
        try retry.validate()
        if let backendTimeout, backendTimeout < .zero || backendTimeout > AcquireRequest.maximumDuration {
            throw .invalidConfiguration(
                "backend timeout must be between zero and \(AcquireRequest.maximumDurationText)")
        }
        if let renewInterval {
            guard renewInterval > .zero, renewInterval <= AcquireRequest.maximumDuration else {
                throw .invalidConfiguration(
                    "renew interval must be positive and at most \(AcquireRequest.maximumDurationText)")
            }
            if let duration, renewInterval >= duration {
                throw .invalidConfiguration(
                    "renew interval (\(renewInterval)) must be shorter than the lease duration (\(duration))")
            }
        }
    }
}
