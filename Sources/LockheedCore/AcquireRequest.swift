/// Everything a backend needs to grant a lease. Built and validated by the core, so every
/// backend sees only valid requests.
public struct AcquireRequest: Sendable, Hashable {
    /// The lock to acquire.
    public var name: LockName
    /// The holder asking.
    public var holder: String
    /// Mutex, or shared with a holder limit.
    public var type: LockType
    /// How long the lease lasts; `nil` means it never expires.
    public var duration: Duration?
    /// Tags to add to the lock (or to set, with `resetTags`).
    public var tags: [String]
    /// Replace the lock's tags with `tags` instead of adding them.
    public var resetTags: Bool
    /// Remove other holders' leases when the stored state matches this condition.
    public var force: Condition?

    /// The shortest lease accepted.
    public static let minimumDuration: Duration = .milliseconds(10)

    /// The longest lease accepted: 100 years (of 365.25 days), which every backend stores exactly
    /// (in milliseconds, nanoseconds or RFC 3339 text) and any clock can add to now. Use `nil`
    /// for a lease that never expires.
    public static let maximumDuration: Duration = .seconds(3_155_760_000)

    /// ``maximumDuration`` as people read it.
    public static let maximumDurationText = "100 years"

    /// Validates and creates a request.
    public init(
        name: LockName,
        holder: String,
        type: LockType = .mutex,
        duration: Duration?,
        tags: [String] = [],
        resetTags: Bool = false,
        force: Condition? = nil
    ) throws(LockheedError) {
        try Validation.validateHolder(holder)
        try Validation.validateTags(tags)
        try type.validate()
        try Self.validateDuration(duration)
        self.name = name
        self.holder = holder
        self.type = type
        self.duration = duration
        self.tags = tags
        self.resetTags = resetTags
        self.force = force
    }

    /// Throws ``LockheedError/invalidConfiguration(_:)`` for a finite duration under
    /// ``minimumDuration`` or over ``maximumDuration``.
    public static func validateDuration(_ duration: Duration?) throws(LockheedError) {
        guard let duration else { return }
        if duration < minimumDuration {
            throw .invalidConfiguration(
                "lease duration must be at least \(minimumDuration) (or nil for no expiry), got \(duration)")
        }
        if duration > maximumDuration {
            throw .invalidConfiguration(
                "lease duration must be at most \(maximumDurationText) (or nil for no expiry), got \(duration)")
        }
    }
}
