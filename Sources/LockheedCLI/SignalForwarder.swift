import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write end of the pipe the signal handler writes caught signals to (self-pipe trick).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT for `lockheed exec`: while a command runs they go to
/// its process group; before it starts (while waiting for the lock) the first one cancels the wait.
///
/// A real handler (it writes the signal number to a pipe; a thread reads it) rather than
/// libdispatch's signal sources: on Linux those read a signalfd, which sees a signal only when
/// the thread it is delivered to has it blocked, and threads that backends start do not, so a
/// signal could land on one of them and be ignored (a `SIGINT` while waiting was lost under load).
final class SignalForwarder: Sendable {
    /// The signals handled.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private let routing = Routing()

    /// Starts catching the signals.
    init() {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            Terminal.error("cannot create the signal pipe: \(String(cString: strerror(errno)))")
            return
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        signalPipeWriteEnd = ends[1]
        let routing = self.routing
        let readEnd = ends[0]
        let reader = Thread {
            var byte: UInt8 = 0
            while true {
                let count = read(readEnd, &byte, 1)
                if count == 1 {
                    routing.deliver(Int32(byte))
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
        reader.start()
        for signal in Self.signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
            // Threads started before now may block the signal; handlers run on any thread that
            // does not, and this one must not.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
    }

    /// Runs `action` when a signal arrives while no command is running, or at once if one
    /// already arrived (the wait may have begun, and a signal come, before this call).
    func whenNoChild(_ action: @escaping @Sendable () -> Void) {
        let alreadyReceived = routing.state.withLock { state in
            state.onSignalWithoutChild = action
            return state.received != nil && state.child == nil
        }
        if alreadyReceived { action() }
    }

    /// The first signal lockheed received while no command ran, if any.
    var receivedWithoutChild: Int32? { routing.state.withLock { $0.received } }

    /// Forwards signals to the command's group from now on.
    func attach(_ child: CommandProcessGroup) { routing.state.withLock { $0.child = child } }

    /// Stops forwarding to the command (it has exited).
    func detach() { routing.state.withLock { $0.child = nil } }
}

/// Where a caught signal goes: to the running command, or to the cancellation of the wait.
private final class Routing: Sendable {
    struct State {
        var child: CommandProcessGroup?
        var received: Int32?
        var onSignalWithoutChild: (@Sendable () -> Void)?
    }

    let state = Mutex(State())

    func deliver(_ signal: Int32) {
        let action: (@Sendable () -> Void)? = state.withLock { state in
            if let child = state.child {
                child.signal(signal)
                return nil
            }
            if state.received == nil { state.received = signal }
            return state.onSignalWithoutChild
        }
        action?()
    }
}
