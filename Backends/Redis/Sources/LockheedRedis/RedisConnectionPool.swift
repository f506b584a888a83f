import Foundation
import Glibc
import LockheedCore
import Synchronization

/// A connection of the pool, used by one command at a time; its hiredis context is reached only
/// through the mutex, by the command's caller or by the reactor on its behalf.
final class PooledConnection: Sendable {
    let connection: Mutex<RedisConnection>

    init(configuration: RedisConfiguration) {
        connection = Mutex(RedisConnection(configuration: configuration))
    }
}

/// Up to `poolSize` non-blocking hiredis connections shared by concurrent commands.
///
/// A command takes an idle connection (or waits for one), writes its bytes on the caller's
/// thread without blocking, then, when ``ReplyPolling`` says it pays, polls for the reply for at
/// most ``RedisConfiguration/replySpin``, yielding the CPU between polls. A reply that has not
/// come by then is awaited by ``RedisReactor``, and the task is suspended. On loopback this
/// saves the two thread wake-ups that handing every command to another thread costs. Connecting
/// blocks (DNS, TCP, `AUTH`), so it runs on a short-lived thread of its own.
final class RedisConnectionPool: Sendable {
    private struct State {
        var idle: [PooledConnection] = []
        var created = 0
        /// Commands waiting for a connection, first come first served, by ticket.
        var waiters: [(ticket: Int, continuation: CheckedContinuation<PooledConnection?, Never>)] = []
        var nextTicket = 0
        var closed = false
    }

    private let configuration: RedisConfiguration
    private let state = Mutex(State())
    private let opened = Atomic<Int>(0)
    private let polling = Mutex(ReplyPolling())

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    /// Connections opened so far, reconnections included.
    var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    /// Connections the pool holds now, open or not (at most `poolSize`; 0 after shutdown).
    var connectionCount: Int { state.withLock { $0.created } }

    /// Sends one command and returns its reply. A server error reply is returned as
    /// ``RedisValue/error(_:)``; a broken connection throws `.unavailable` (the next command
    /// reconnects) and a late reply `.timedOut`.
    func command(_ arguments: [String]) async throws(LockheedError) -> RedisValue {
        let bytes = RedisCommand.encode(arguments)
        let pooled = try await checkout()
        defer { checkin(pooled) }
        if !pooled.connection.withLock({ $0.isConnected }) { try await connect(pooled) }
        return try await roundTrip(pooled, bytes, command: arguments.first ?? "")
    }

    /// Sends one command only on a connection that is open and idle now, and only when no
    /// command waits for one; `nil` (nothing sent) otherwise. For background work that must
    /// never make a caller's command wait or open a connection.
    func commandIfIdle(_ arguments: [String]) async throws(LockheedError) -> RedisValue? {
        let taken = state.withLock { state -> PooledConnection? in
            guard !state.closed, state.waiters.isEmpty else { return nil }
            return state.idle.popLast()
        }
        guard let pooled = taken else { return nil }
        defer { checkin(pooled) }
        guard pooled.connection.withLock({ $0.isConnected }) else { return nil }
        return try await roundTrip(pooled, RedisCommand.encode(arguments), command: arguments.first ?? "")
    }

    private func roundTrip(
        _ pooled: PooledConnection, _ bytes: [UInt8], command: String
    ) async throws(LockheedError) -> RedisValue {
        let started = ContinuousClock.now
        let poll = polling.withLock { $0.begin(at: started) } && configuration.replySpin > .zero
        defer { polling.withLock { $0.end() } }
        let (written, descriptor) = try pooled.connection.withLock { connection throws(LockheedError) in
            (try connection.write(bytes), connection.fileDescriptor)
        }
        if written && poll {
            let end = started + configuration.replySpin
            repeat {
                sched_yield()
                let reply = try pooled.connection.withLock { connection throws(LockheedError) in
                    try connection.pollReply()
                }
                if let reply {
                    polling.withLock { $0.polled(caught: true) }
                    return reply
                }
            } while ContinuousClock.now < end && polling.withLock({ $0.alone })
            // A poll cut short by another command says nothing about the server.
            polling.withLock { if $0.alone { $0.polled(caught: false) } }
        }
        let result = await withCheckedContinuation { completion in
            RedisReactor.shared.park(
                pooled, descriptor: descriptor, command: command, timeout: configuration.commandTimeout,
                writing: !written, completion: completion)
        }
        return try result.get()
    }

    /// Connects (with `AUTH` and `SELECT`) on a thread of its own, then switches to non-blocking.
    private func connect(_ pooled: PooledConnection) async throws(LockheedError) {
        let result: Result<Void, LockheedError> = await withCheckedContinuation { completion in
            let thread = Thread {
                let result = pooled.connection.withLock { connection -> Result<Void, LockheedError> in
                    do throws(LockheedError) {
                        try connection.connectIfNeeded(nonBlocking: true)
                        return .success(())
                    } catch { return .failure(error) }
                }
                completion.resume(returning: result)
            }
            thread.name = "lockheed-redis-connect"
            thread.start()
        }
        try result.get()
        opened.add(1, ordering: .relaxed)
    }

    // MARK: Checkout

    private func checkout() async throws(LockheedError) -> PooledConnection {
        enum Decision {
            case take(PooledConnection)
            case create
            case wait(ticket: Int)
            case closed
        }
        let decision = state.withLock { state -> Decision in
            if state.closed { return .closed }
            if let pooled = state.idle.popLast() { return .take(pooled) }
            if state.created < configuration.poolSize {
                state.created += 1
                return .create
            }
            state.nextTicket += 1
            return .wait(ticket: state.nextTicket)
        }
        switch decision {
        case .take(let pooled): return pooled
        case .create: return PooledConnection(configuration: configuration)
        case .closed: throw .unavailable("the redis locker was shut down")
        case .wait(let ticket):
            // Waiting for a connection is cancellable: nothing has been sent yet. (A command once
            // written is not: the server may already have granted a lease.)
            let pooled = await withTaskCancellationHandler {
                await withCheckedContinuation { waiter in
                    let ready = state.withLock { state -> PooledConnection?? in
                        if state.closed || Task.isCancelled { return .some(nil) }
                        if let pooled = state.idle.popLast() { return .some(pooled) }
                        state.waiters.append((ticket, waiter))
                        return nil
                    }
                    if let ready { waiter.resume(returning: ready) }
                }
            } onCancel: {
                let waiter = state.withLock { state in
                    state.waiters.firstIndex { $0.ticket == ticket }.map { state.waiters.remove(at: $0).continuation }
                }
                waiter?.resume(returning: nil)
            }
            guard let pooled else {
                if state.withLock({ $0.closed }) { throw .unavailable("the redis locker was shut down") }
                throw .cancelled
            }
            return pooled
        }
    }

    private func checkin(_ pooled: PooledConnection) {
        enum Decision {
            case handOver(CheckedContinuation<PooledConnection?, Never>)
            case kept
            case discard
        }
        let decision = state.withLock { state -> Decision in
            if state.closed {
                state.created -= 1
                return .discard
            }
            if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst().continuation) }
            state.idle.append(pooled)
            return .kept
        }
        switch decision {
        case .handOver(let waiter): waiter.resume(returning: pooled)
        case .discard: pooled.connection.withLock { $0.close() }
        case .kept: break
        }
    }

    /// Fails waiting commands, closes idle connections, and waits (within a command timeout)
    /// for the busy ones to finish and close.
    func shutdown() async {
        let (idle, waiters) = state.withLock {
            state -> ([PooledConnection], [CheckedContinuation<PooledConnection?, Never>]) in
            state.closed = true
            let idle = state.idle
            state.idle = []
            state.created -= idle.count
            let waiters = state.waiters.map(\.continuation)
            state.waiters = []
            return (idle, waiters)
        }
        for waiter in waiters { waiter.resume(returning: nil) }
        for pooled in idle { pooled.connection.withLock { $0.close() } }
        let deadline = ContinuousClock.now + configuration.commandTimeout + configuration.connectTimeout
        while connectionCount > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
    }
}
