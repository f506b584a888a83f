import Synchronization

/// What `lockheed exec` learned about its command while the lock's scope ran it: shared
/// between the body of `withLock` (which is cancelled when the lease is lost) and the code
/// that reports the outcome once `withLock` has thrown.
final class CommandRecord: Sendable {
    private struct State {
        var status: Int32?
        var killDeadline: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    /// Notes the command's exit status.
    func exited(_ status: Int32) { state.withLock { $0.status = status } }

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
