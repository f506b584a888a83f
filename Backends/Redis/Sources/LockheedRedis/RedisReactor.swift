import CHiredis
import Foundation
import Glibc
import LockheedCore
import Synchronization

/// One epoll thread for the whole process that finishes the commands whose reply did not come
/// while their caller spun: it reads each parked connection when its socket is ready, resumes the
/// caller with the reply, and fails a command with ``LockheedCore/LockheedError/timedOut(_:)`` at
/// its deadline (closing the connection, whose state is then unknown).
///
/// Only non-blocking reads and writes happen here, so one thread serves every pool. It starts on
/// first use and lives as long as the process, like NIO's singletons.
final class RedisReactor: Sendable {
    /// The process-wide reactor.
    static let shared = RedisReactor()

    typealias Completion = CheckedContinuation<Result<RedisValue, LockheedError>, Never>

    private struct Parked {
        let connection: PooledConnection
        let descriptor: Int32
        let deadline: ContinuousClock.Instant
        let command: String
        let timeout: Duration
        var writing: Bool
        let completion: Completion
    }

    private struct State {
        var parked: [UInt64: Parked] = [:]
        var nextToken: UInt64 = 1
        var started = false
        /// When the thread will wake by itself; `nil` while it is awake and will look again.
        var sleepingUntil: ContinuousClock.Instant?
    }

    private let epoll: Int32
    private let wakeDescriptor: Int32
    private let state = Mutex(State())
    private static let wakeToken: UInt64 = 0

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeDescriptor = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        if epoll >= 0 && wakeDescriptor >= 0 {
            var event = epoll_event(events: EPOLLIN.rawValue, data: epoll_data_t(u64: Self.wakeToken))
            _ = epoll_ctl(epoll, EPOLL_CTL_ADD, wakeDescriptor, &event)
        }
    }

    /// Waits, off the caller's thread, for the reply to the command just written (or, with
    /// `writing`, still being written) on `connection`, and resumes `completion` with it.
    func park(
        _ connection: PooledConnection, descriptor: Int32, command: String, timeout: Duration, writing: Bool,
        completion: Completion
    ) {
        guard epoll >= 0, wakeDescriptor >= 0 else {
            completion.resume(returning: .failure(.unavailable("cannot create an epoll instance for redis")))
            return
        }
        let deadline = ContinuousClock.now + timeout
        let parked = Parked(
            connection: connection, descriptor: descriptor, deadline: deadline, command: command, timeout: timeout,
            writing: writing, completion: completion)
        let (token, start, wake) = state.withLock { state -> (UInt64, Bool, Bool) in
            let token = state.nextToken
            state.nextToken += 1
            state.parked[token] = parked
            let start = !state.started
            state.started = true
            let wake = state.sleepingUntil.map { deadline < $0 } ?? false
            return (token, start, wake)
        }
        if start {
            let thread = Thread { [self] in run() }
            thread.name = "lockheed-redis-reactor"
            thread.start()
        }
        if wake { _ = eventfd_write(wakeDescriptor, 1) }
        arm(token, parked)
    }

    private func arm(_ token: UInt64, _ parked: Parked) {
        var flags = EPOLLIN.rawValue | EPOLLONESHOT.rawValue
        if parked.writing { flags |= EPOLLOUT.rawValue }
        var event = epoll_event(events: flags, data: epoll_data_t(u64: token))
        if epoll_ctl(epoll, EPOLL_CTL_MOD, parked.descriptor, &event) == 0 { return }
        if errno == ENOENT && epoll_ctl(epoll, EPOLL_CTL_ADD, parked.descriptor, &event) == 0 { return }
        let code = errno
        finish(token, .failure(.unavailable("cannot watch the redis socket (errno \(code))")), closing: true)
    }

    private func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            let timeout = state.withLock { state -> Int32 in
                let nearest = state.parked.values.lazy.map(\.deadline).min()
                guard let nearest else {
                    state.sleepingUntil = .now + .seconds(3600)
                    return -1
                }
                state.sleepingUntil = nearest
                let remaining = nearest - .now
                if remaining <= .zero { return 0 }
                let (seconds, attoseconds) = remaining.components
                return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            }
            let count = events.withUnsafeMutableBufferPointer { buffer in
                epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), timeout)
            }
            state.withLock { $0.sleepingUntil = nil }
            for index in 0..<max(0, Int(count)) {
                let token = events[index].data.u64
                if token == Self.wakeToken {
                    var value: eventfd_t = 0
                    _ = eventfd_read(wakeDescriptor, &value)
                } else {
                    service(token)
                }
            }
            expire()
        }
    }

    /// Writes or reads what the socket of parked command `token` is ready for.
    private func service(_ token: UInt64) {
        guard var parked = state.withLock({ $0.parked[token] }) else { return }
        do throws(LockheedError) {
            if parked.writing {
                let done = try parked.connection.connection.withLock { connection throws(LockheedError) in
                    try connection.flush()
                }
                if done {
                    parked.writing = false
                    state.withLock { $0.parked[token]?.writing = false }
                }
            }
            if !parked.writing,
                let reply = try parked.connection.connection.withLock({ connection throws(LockheedError) in
                    try connection.pollReply()
                })
            {
                finish(token, .success(reply), closing: false)
                return
            }
            arm(token, parked)
        } catch {
            finish(token, .failure(error), closing: false)
        }
    }

    /// Fails every parked command whose deadline has passed.
    private func expire() {
        let now = ContinuousClock.now
        let expired = state.withLock { state in
            state.parked.filter { $0.value.deadline <= now }.map(\.key)
        }
        for token in expired {
            guard let command = state.withLock({ $0.parked[token] }) else { continue }
            finish(
                token, .failure(.timedOut("redis command \(command.command) took longer than \(command.timeout)")),
                closing: true)
        }
    }

    private func finish(_ token: UInt64, _ result: Result<RedisValue, LockheedError>, closing: Bool) {
        guard let parked = state.withLock({ $0.parked.removeValue(forKey: token) }) else { return }
        if closing { parked.connection.connection.withLock { $0.close() } }
        parked.completion.resume(returning: result)
    }
}
