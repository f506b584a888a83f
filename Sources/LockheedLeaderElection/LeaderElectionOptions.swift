import LockheedCore

/// How a ``LeaderElection`` holds and seeks its lease.
public struct LeaderElectionOptions: Sendable, Hashable {
    /// How long each grant or renewal lasts: after a leader dies without releasing, a standby
    /// takes over within `duration + retryDelay`.
    public var duration: Duration = .seconds(15)
    /// How often the leader renews; `nil` means a third of `duration`.
    public var renewInterval: Duration? = nil
    /// The longest wait between two campaign attempts while another process leads; `nil` means
    /// the renew interval in force. Backends with change notification wake standbys earlier on
    /// a release.
    public var retryDelay: Duration? = nil
    /// The pause after leadership ends (lost, or `leading` returned) before campaigning again.
    public var backoff: Duration = .milliseconds(200)

    /// The defaults: a 15 s lease renewed every 5 s, standbys retrying at most 5 s apart.
    public init() {}

    /// Creates options with the given lease duration and renew interval.
    public init(duration: Duration, renewInterval: Duration? = nil) {
        self.duration = duration
        self.renewInterval = renewInterval
    }

    /// The renew interval in force.
    public var effectiveRenewInterval: Duration { renewInterval ?? duration / 3 }

    /// The retry delay in force.
    public var effectiveRetryDelay: Duration { retryDelay ?? effectiveRenewInterval }

    /// Throws ``LockheedError/invalidConfiguration(_:)`` unless the options can work together.
    public func validate() throws(LockheedError) {
        try lockOptions(tags: []).validate()
        guard effectiveRetryDelay > .zero else { throw .invalidConfiguration("retry delay must be positive") }
        guard backoff >= .zero else { throw .invalidConfiguration("backoff must not be negative") }
    }

    /// The options of each term's ``Lock``: waits without deadline for the lock, retries a
    /// failing backend forever, and replaces the lock's tags with `tags`.
    func lockOptions(tags: [String]) -> LockOptions {
        var options = LockOptions()
        options.duration = duration
        options.renewInterval = renewInterval
        options.tags = tags
        options.resetTags = true
        let maxDelay = effectiveRetryDelay
        options.retry = RetryPolicy(
            maxAttempts: nil, initialDelay: min(.milliseconds(50), maxDelay), maxDelay: maxDelay)
        options.backendTimeout = nil
        return options
    }
}
