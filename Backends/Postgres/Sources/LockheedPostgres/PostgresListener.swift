import LockheedCore
import Logging
import PostgresNIO
import Synchronization

/// One dedicated connection that `LISTEN`s on the schema's channel and wakes the waiters of the
/// lock each notification names. Started on the first wait; reconnects with a growing pause
/// after losing the server, and wakes every waiter when (re)connected, since a notification may
/// have been missed meanwhile. Waiters time out on their own, so polling remains the fallback.
final class PostgresListener: Sendable {
    let notifier = ChangeNotifier()
    private let pool: PostgresConnectionPool
    private let channel: String
    private let logger: Logger
    private let state = Mutex<State>(.idle)
    private let connected = Atomic<Bool>(false)

    private enum State {
        case idle
        case running(Task<Void, Never>)
        case stopped
    }

    init(pool: PostgresConnectionPool, channel: String, logger: Logger) {
        self.pool = pool
        self.channel = channel
        self.logger = logger
    }

    /// Whether `LISTEN` is in effect on a live connection.
    var isConnected: Bool { connected.load(ordering: .relaxed) }

    /// Starts listening unless already started or stopped.
    func start() {
        state.withLock { state in
            guard case .idle = state else { return }
            state = .running(Task { [self] in await self.run() })
        }
    }

    /// Stops listening and closes the connection.
    func stop() async {
        let task: Task<Void, Never>? = state.withLock { state in
            defer { state = .stopped }
            if case .running(let task) = state { return task }
            return nil
        }
        task?.cancel()
        await task?.value
    }

    private func run() async {
        var pause = Duration.milliseconds(50)
        while !Task.isCancelled {
            do {
                let connection = try await pool.connect()
                pause = .milliseconds(50)
                await withTaskCancellationHandler {
                    do {
                        try await connection.listen(on: channel) { notifications in
                            connected.store(true, ordering: .relaxed)
                            notifier.notifyAll()
                            for try await notification in notifications {
                                if let name = try? LockName(notification.payload) { notifier.notify(name) }
                            }
                        }
                    } catch {
                        logger.debug("postgres listening connection ended", metadata: ["error": "\(error)"])
                    }
                } onCancel: {
                    connection.close().whenComplete { _ in }
                }
                connected.store(false, ordering: .relaxed)
                try? await connection.close()
            } catch {
                logger.debug("postgres listening connection failed", metadata: ["error": "\(error)"])
            }
            // Waiters re-check rather than wait for a notification that may never come.
            notifier.notifyAll()
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, .seconds(2))
        }
        connected.store(false, ordering: .relaxed)
    }
}
