import Foundation
import Glibc
import LockheedCore
import Synchronization

/// Listens on the release channel with a dedicated connection and thread, and wakes the
/// locker's waiters. While it is disconnected, waiters fall back to polling (their timeout).
final class RedisSubscriber: Sendable {
    private struct State {
        var started = false
        var closed = false
        var running = false
        var connected = false
    }

    private let configuration: RedisConfiguration
    private let channel: String
    private let notifier = ChangeNotifier()
    private let state = Mutex(State())

    init(configuration: RedisConfiguration, channel: String) {
        self.configuration = configuration
        self.channel = channel
    }

    /// Whether the subscription is live now.
    var isConnected: Bool { state.withLock { $0.connected } }

    /// Starts the listening thread once.
    func start() {
        let start = state.withLock { state -> Bool in
            guard !state.started, !state.closed else { return false }
            state.started = true
            state.running = true
            return true
        }
        guard start else { return }
        let thread = Thread { [self] in listen() }
        thread.name = "lockheed-redis-sub"
        thread.start()
    }

    /// Waits for a release message about `name`, for at most `timeout`. Returns at once when a
    /// message about it (or a lost subscription, which may have missed one) came after `since`.
    func wait(for name: LockName, since: ContinuousClock.Instant, timeout: Duration) async throws(LockheedError) {
        start()
        try await notifier.wait(for: name, since: since, timeout: timeout)
    }

    /// Stops the thread (within a poll interval) and closes its connection.
    func shutdown() async {
        state.withLock { $0.closed = true }
        notifier.notifyAll()
        let deadline = ContinuousClock.now + .seconds(1)
        while state.withLock({ $0.running }) && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func listen() {
        let connection = RedisConnection(configuration: configuration)
        defer {
            connection.close()
            state.withLock {
                $0.running = false
                $0.connected = false
            }
        }
        while !state.withLock({ $0.closed }) {
            if !connection.isConnected {
                do throws(LockheedError) {
                    _ = try connection.command(["SUBSCRIBE", channel])
                    state.withLock { $0.connected = true }
                    // Releases may have been missed while disconnected.
                    notifier.notifyAll()
                } catch {
                    state.withLock { $0.connected = false }
                    usleep(200_000)
                    continue
                }
            }
            do throws(LockheedError) {
                while let reply = try connection.bufferedReply() { handle(reply) }
                var descriptor = pollfd(fd: connection.fileDescriptor, events: Int16(POLLIN), revents: 0)
                if poll(&descriptor, 1, 200) > 0 { try connection.readSocket() }
            } catch {
                state.withLock { $0.connected = false }
                notifier.notifyAll()
            }
        }
    }

    private func handle(_ reply: RedisValue) {
        guard let items = reply.array, items.count == 3, items[0].text == "message",
            let payload = items[2].text, let name = try? LockName(payload)
        else { return }
        notifier.notify(name)
    }
}
