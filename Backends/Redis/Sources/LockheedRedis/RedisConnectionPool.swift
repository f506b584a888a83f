import Dispatch
import Foundation
import LockheedCore
import Synchronization

/// A small pool of hiredis connections, each owned by its own dedicated thread.
///
/// Blocking hiredis calls run only on these threads, never on Swift's cooperative pool. Jobs
/// wait in one FIFO queue; threads are started lazily, up to `poolSize`, when no thread is idle.
final class RedisConnectionPool: Sendable {
    private struct Job: Sendable {
        let run: @Sendable (RedisConnection) -> Void
        let fail: @Sendable (LockheedError) -> Void
    }

    private struct State {
        var queue: [Job] = []
        var head = 0
        var threads = 0
        var idle = 0
        var closed = false
        var connects = 0
    }

    private let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let wakeups = DispatchSemaphore(value: 0)

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// Connections opened so far, reconnections included.
    var connectionsOpened: Int { state.withLock { $0.connects } }

    /// Worker threads alive now.
    var liveThreads: Int { state.withLock { $0.threads } }

    /// Runs `body` with a connection on a pool thread and returns its result.
    func run<T: Sendable>(
        _ body: @escaping @Sendable (RedisConnection) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        let result: Result<T, LockheedError> = await withCheckedContinuation { continuation in
            let job = Job(
                run: { connection in
                    do throws(LockheedError) {
                        continuation.resume(returning: .success(try body(connection)))
                    } catch { continuation.resume(returning: .failure(error)) }
                },
                fail: { error in continuation.resume(returning: .failure(error)) })
            enqueue(job)
        }
        return try result.get()
    }

    private func enqueue(_ job: Job) {
        let (accepted, spawn) = state.withLock { state -> (Bool, Bool) in
            guard !state.closed else { return (false, false) }
            state.queue.append(job)
            let pending = state.queue.count - state.head
            if state.threads < configuration.poolSize && state.idle < pending {
                state.threads += 1
                return (true, true)
            }
            return (true, false)
        }
        guard accepted else {
            job.fail(.unavailable("the redis locker was shut down"))
            return
        }
        if spawn {
            let thread = Thread { [self] in work() }
            thread.name = "lockheed-redis"
            thread.start()
        }
        wakeups.signal()
    }

    private func work() {
        let connection = RedisConnection(configuration: configuration)
        var opened = 0
        while true {
            state.withLock { $0.idle += 1 }
            wakeups.wait()
            let job: Job? = state.withLock { state in
                state.idle -= 1
                guard !state.closed, state.head < state.queue.count else { return nil }
                let job = state.queue[state.head]
                state.head += 1
                if state.head > 64 && state.head * 2 > state.queue.count {
                    state.queue.removeFirst(state.head)
                    state.head = 0
                }
                return job
            }
            if state.withLock({ $0.closed }) { break }
            guard let job else { continue }
            job.run(connection)
            if connection.connectCount != opened {
                let delta = connection.connectCount - opened
                opened = connection.connectCount
                state.withLock { $0.connects += delta }
            }
        }
        connection.close()
        state.withLock { $0.threads -= 1 }
    }

    /// Fails queued jobs, stops the threads once their current command ends, and closes the
    /// connections.
    func shutdown() async {
        let (pending, threads) = state.withLock { state -> ([Job], Int) in
            guard !state.closed else { return ([], 0) }
            state.closed = true
            let pending = Array(state.queue[state.head...])
            state.queue = []
            state.head = 0
            return (pending, state.threads)
        }
        for job in pending { job.fail(.unavailable("the redis locker was shut down")) }
        for _ in 0..<threads + 1 { wakeups.signal() }
        let deadline = ContinuousClock.now + configuration.commandTimeout + configuration.connectTimeout
        while liveThreads > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
            wakeups.signal()
        }
    }
}
