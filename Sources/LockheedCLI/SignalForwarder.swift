import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT for `lockheed exec`: while a command runs they go to
/// its process group; before it starts (while waiting for the lock) the first one cancels the wait.
final class SignalForwarder: Sendable {
    /// The signals handled.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    private let routing = Routing()
    /// Kept only so the sources stay alive for the life of the forwarder.
    private let sources: Mutex<[any DispatchSourceSignal]>

    /// Starts catching the signals.
    init() {
        var sources: [any DispatchSourceSignal] = []
        let routing = self.routing
        for signal in Self.signals {
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler { routing.deliver(signal) }
            source.resume()
            sources.append(source)
        }
        self.sources = Mutex(sources)
    }

    /// Runs `action` when a signal arrives while no command is running.
    func whenNoChild(_ action: @escaping @Sendable () -> Void) {
        routing.state.withLock { $0.onSignalWithoutChild = action }
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
