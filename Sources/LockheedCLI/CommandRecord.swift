import Synchronization

/// What `lockheed exec` learned about its command while the lock's scope ran it: shared
/// between the body of `withLock` (which is cancelled when the lease is lost) and the code
/// that reports the outcome once `withLock` has returned or thrown.
final class CommandRecord: Sendable {
    private struct State {
        var status: Int32?
        var endObservedAt: ContinuousClock.Instant?
        var validUntil: ContinuousClock.Instant?
        var killDeadline: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// Notes the lease's certain validity as last known (``Lock/validUntil`` while held; it
    /// reads `nil` once the lease is lost, so the last value is kept here).
    func valid(until instant: ContinuousClock.Instant?) {
        guard let instant else { return }
        state.withLock { $0.validUntil = max($0.validUntil ?? instant, instant) }
    }

    /// The lease's certain validity as last known, if it expires.
    var validUntil: ContinuousClock.Instant? { state.withLock { $0.validUntil } }

    /// Notes the command's exit status, observed now.
    func exited(_ status: Int32) {
        let now = ContinuousClock.now
        state.withLock {
            $0.status = status
            $0.endObservedAt = now
        }
    }

    /// Whether lockheed observed the command's end only after the lease's certain validity.
    var endObservedAfterValidity: Bool {
        state.withLock { state in
            guard let observed = state.endObservedAt, let validUntil = state.validUntil else { return false }
            return observed > validUntil
        }
    }

    /// Notes that lockheed is stopping the command because the lease was lost, and when the
    /// group must be gone (SIGKILL); keeps the earliest deadline.
    func stopping(killAt deadline: ContinuousClock.Instant) {
        state.withLock { $0.killDeadline = min($0.killDeadline ?? deadline, deadline) }
    }

    /// When the group must be gone, if lockheed is stopping it because the lease was lost.
    var killDeadline: ContinuousClock.Instant? { state.withLock { $0.killDeadline } }

    /// The command's status if it exited on its own, before lockheed noticed a loss and
    /// stopped it.
    var statusUnlessStopped: Int32? { state.withLock { $0.killDeadline == nil ? $0.status : nil } }
}
