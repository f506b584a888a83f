/// Something that happened to a ``Lock``: the Go original's events, plus ``lost(_:)``.
public enum LockEvent: Sendable, Hashable {
    /// A lease was granted or refreshed.
    case acquired(Lease)
    /// An acquire attempt failed; with a retry policy, more attempts may follow.
    case acquireFailed(LockheedError)
    /// The lease was extended.
    case renewed(Lease)
    /// A renewal failed; the lease may still be valid and renewal goes on until it is lost.
    case renewFailed(LockheedError)
    /// The lease was released.
    case released
    /// Releasing failed.
    case releaseFailed(LockheedError)
    /// Background renewal started.
    case maintainStarted
    /// Background renewal stopped.
    case maintainStopped
    /// The lease is lost (taken over, deleted, or expired while renewals failed). Work done
    /// under the lock must stop: ``Lock/withLock(_:)`` cancels its body.
    case lost(LockheedError)
    /// Diagnostic detail.
    case debug(String)

    /// A short name for logs and metrics.
    public var name: String {
        switch self {
        case .acquired: "acquired"
        case .acquireFailed: "acquire_failed"
        case .renewed: "renewed"
        case .renewFailed: "renew_failed"
        case .released: "released"
        case .releaseFailed: "release_failed"
        case .maintainStarted: "maintain_started"
        case .maintainStopped: "maintain_stopped"
        case .lost: "lost"
        case .debug: "debug"
        }
    }
}
