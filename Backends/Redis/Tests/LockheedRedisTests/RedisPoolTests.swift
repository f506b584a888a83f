import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import Testing

@testable import LockheedRedis

@Suite("Redis connection pool", .timeSensitive)
struct RedisPoolTests {
    @Test(
        "more concurrent commands than connections queue for one and all succeed",
        arguments: [Duration.zero, .microseconds(200)])
    func queueing(replySpin: Duration) async throws {
        var configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        configuration.poolSize = 2
        configuration.replySpin = replySpin
        let locker = try RedisLocker(configuration: configuration)
        let tokens = try await withThrowingTaskGroup(of: UInt64.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let request = try AcquireRequest(
                        name: LockName("q-\(index % 8)"), holder: "h\(index)", duration: .seconds(30))
                    do {
                        let lease = try await locker.acquire(request)
                        #expect(try await locker.release(request.name, holder: request.holder))
                        return lease.fencingToken
                    } catch let error as LockheedError where error.code == .held { return 0 }
                }
            }
            return try await group.reduce(into: [UInt64]()) { $0.append($1) }
        }
        #expect(tokens.filter { $0 > 0 }.count >= 8, "every lock was granted at least once")
        #expect(locker.pool.connectionCount <= 2)
        await locker.shutdown()
        #expect(locker.pool.connectionCount == 0)
    }

    @Test(
        "a command larger than the socket buffer is written in parts and answered",
        arguments: [Duration.zero, .microseconds(200)])
    func partialWrites(replySpin: Duration) async throws {
        var configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        configuration.replySpin = replySpin
        let locker = try RedisLocker(configuration: configuration)
        let key = configuration.keyPrefix + ":big"
        let value = String(repeating: "0123456789abcdef", count: 1 << 20)  // 16 MiB
        #expect(try await locker.rawCommand(["SET", key, value]) == .status("OK"))
        #expect(try await locker.rawCommand(["STRLEN", key]) == .integer(Int64(value.utf8.count)))
        let read = try await locker.rawCommand(["GET", key])
        #expect(read == .string(value))
        _ = try await locker.rawCommand(["DEL", key])
        await locker.shutdown()
    }

    @Test("a command waiting for a connection can be cancelled; the busy one finishes undisturbed")
    func cancelWhileWaiting() async throws {
        var configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        configuration.poolSize = 1
        configuration.commandTimeout = .seconds(30)
        let locker = try RedisLocker(configuration: configuration)
        _ = try await locker.list()  // connects
        // BLPOP on an empty list holds the only connection for 10 s.
        let busy = Task { try await locker.rawCommand(["BLPOP", configuration.keyPrefix + ":empty", "10"]) }
        try await Task.sleep(for: .milliseconds(100))
        let waiting = Task { try await locker.list() }
        try await Task.sleep(for: .milliseconds(100))
        let cancelled = ContinuousClock.now
        waiting.cancel()
        let result = await waiting.result
        #expect(ContinuousClock.now - cancelled < .seconds(5), "cancellation ends the wait, not the 10 s BLPOP")
        guard case .failure(let error) = result, (error as? LockheedError)?.code == .cancelled else {
            Issue.record("expected .cancelled, got \(result)")
            return
        }
        // Another client ends the BLPOP: the busy command finishes with its answer.
        let other = try RedisLocker(configuration: configuration)
        _ = try await other.rawCommand(["LPUSH", configuration.keyPrefix + ":empty", "done"])
        await other.shutdown()
        #expect(
            try await busy.value == .array([.string(configuration.keyPrefix + ":empty"), .string("done")]),
            "the busy command was undisturbed")
        #expect(try await locker.list().isEmpty, "the connection is still usable")
        #expect(locker.pool.connectionsOpened == 1)
        await locker.shutdown()
    }

    @Test("background commands run only on an idle open connection, never opening or waiting for one")
    func commandIfIdle() async throws {
        var configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        configuration.poolSize = 1
        let pool = RedisConnectionPool(configuration: configuration)
        #expect(try await pool.commandIfIdle(["PING"]) == nil, "no connection yet: nothing sent")
        #expect(pool.connectionsOpened == 0)
        #expect(try await pool.command(["PING"]) == .status("PONG"))
        #expect(try await pool.commandIfIdle(["PING"]) == .status("PONG"))
        let key = uniquePrefix("idle")
        let busy = Task { try await pool.command(["BLPOP", key, "1"]) }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await pool.commandIfIdle(["PING"]) == nil, "the only connection is busy: nothing sent")
        _ = try await busy.value
        #expect(pool.connectionsOpened == 1)
        await pool.shutdown()
        #expect(try await pool.commandIfIdle(["PING"]) == nil)
    }

    @Test("after shutdown, commands fail with .unavailable instead of waiting")
    func afterShutdown() async throws {
        let configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        let locker = try RedisLocker(configuration: configuration)
        _ = try await locker.list()
        await locker.shutdown()
        let error = try await lockheedError { try await locker.list() }
        guard error.code == .unavailable else {
            Issue.record("expected .unavailable, got \(error)")
            return
        }
    }
}
