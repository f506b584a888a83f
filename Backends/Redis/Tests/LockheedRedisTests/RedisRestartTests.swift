import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import LockheedTestSupport
import Synchronization
import Testing

@testable import LockheedRedis

@Suite("Redis server going away", .timeSensitive)
struct RedisRestartTests {
    @Test("killed while a lock is held: typed errors while down, works after restart, no leaked connections")
    func restart() async throws {
        let server = try await RedisTestServer.start()
        var configuration = server.configuration(keyPrefix: uniquePrefix())
        // A connect timeout far above the bound below: a refused connection is told apart from
        // a waited-out one however loaded the machine is.
        configuration.connectTimeout = .seconds(60)
        let locker = try RedisLocker(configuration: configuration)
        let other = try RedisLocker(configuration: configuration)
        let name = try LockName("restart")
        let request = try AcquireRequest(name: name, holder: "a", duration: .seconds(30))
        _ = try await locker.acquire(request)
        let waiter = Task { try await other.waitForChange(of: name, timeout: .seconds(20)) }

        await server.kill()
        for _ in 0..<3 {
            let started = ContinuousClock.now
            do {
                _ = try await locker.renew(name, holder: "a", duration: .seconds(30))
                Issue.record("renew succeeded with the server down")
            } catch {
                guard error.code == .unavailable else {
                    Issue.record("expected .unavailable, got \(error)")
                    return
                }
            }
            #expect(ContinuousClock.now - started < .seconds(20), "a refused connection must fail fast")
        }
        await #expect(throws: LockheedError.self) { try await other.list() }

        let restarted = try await server.restart()
        // No persistence: the restarted server is empty, so the lease is gone for good.
        #expect(
            try await lockheedError { try await locker.renew(name, holder: "a", duration: .seconds(30)) }.code == .lost)
        let lease = try await other.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
        #expect(lease.holder == "b")
        #expect(try await locker.release(name, holder: "b"))
        // The waiter was woken by the subscriber's reconnection or the release, well before its timeout.
        let woke = ContinuousClock.now
        try await waiter.value
        #expect(ContinuousClock.now - woke < .seconds(5))

        #expect(locker.pool.connectionCount <= configuration.poolSize)
        await locker.shutdown()
        await other.shutdown()
        #expect(locker.pool.connectionCount == 0)
        #expect(other.pool.connectionCount == 0)
        let clients = try await connectedClients(port: restarted.port)
        #expect(clients == 1, "only the counting connection itself may remain, found \(clients)")
        await restarted.stop()
    }

    @Test("a command the server does not answer in time is .timedOut, and the next one reconnects")
    func commandTimeout() async throws {
        let server = try await RedisTestServer.start()
        var configuration = server.configuration(keyPrefix: uniquePrefix())
        configuration.commandTimeout = .seconds(20)
        let admin = try RedisLocker(configuration: configuration)
        configuration.commandTimeout = .milliseconds(200)
        let locker = try RedisLocker(configuration: configuration)
        let request = try AcquireRequest(name: LockName("slow"), holder: "a", duration: .seconds(5))
        _ = try await locker.acquire(request)
        try await settleStorageCheck(of: locker)
        _ = try await admin.rawCommand(["CLIENT", "PAUSE", "4000", "ALL"])
        let started = ContinuousClock.now
        let error = try await lockheedError { try await locker.renew(request.name, holder: "a", duration: .seconds(5)) }
        guard error.code == .timedOut else {
            Issue.record("expected .timedOut, got \(error)")
            return
        }
        // Timed out at 200 ms, well before the 4 s pause ends (the admin's UNPAUSE waits for it).
        #expect(ContinuousClock.now - started < .seconds(3))
        _ = try await admin.rawCommand(["CLIENT", "UNPAUSE"])
        _ = try await locker.renew(request.name, holder: "a", duration: .seconds(5))
        #expect(locker.pool.connectionsOpened == 2, "the timed-out connection was replaced")
        await locker.shutdown()
        await admin.shutdown()
        await server.stop()
    }

    @Test("an unreachable port is .unavailable, quickly")
    func unreachable() async throws {
        let locker = try RedisLocker(
            configuration: RedisConfiguration(
                port: freeLoopbackPort(), keyPrefix: uniquePrefix(), connectTimeout: .seconds(60)))
        for attempt in 0..<3 {
            let started = ContinuousClock.now
            let error = try await lockheedError {
                try await locker.acquire(try AcquireRequest(name: LockName("x"), holder: "a", duration: .seconds(5)))
            }
            guard error.code == .unavailable else {
                Issue.record("expected .unavailable, got \(error)")
                return
            }
            // Far under the 60 s connect timeout: a refused connection is not waited out.
            #expect(ContinuousClock.now - started < .seconds(20), "attempt \(attempt)")
        }
        await locker.shutdown()
    }

    @Test("a wrong password is .unauthorized, a right one works")
    func password() async throws {
        let server = try await RedisTestServer.start(extraArguments: ["--requirepass", "s3cret"])
        var configuration = server.configuration(keyPrefix: uniquePrefix())
        let request = try AcquireRequest(name: LockName("auth"), holder: "a", duration: .seconds(5))

        configuration.password = "wrong"
        let wrong = try RedisLocker(configuration: configuration)
        guard try await lockheedError({ try await wrong.acquire(request) }).code == .unauthorized else {
            Issue.record("a wrong password must be .unauthorized")
            return
        }
        configuration.password = nil
        let none = try RedisLocker(configuration: configuration)
        let noneError = try await lockheedError { try await none.acquire(request) }
        guard noneError.code == .unauthorized else {
            Issue.record("no password must be .unauthorized, got \(noneError)")
            return
        }
        configuration.password = "s3cret"
        configuration.database = 3
        let right = try RedisLocker(configuration: configuration)
        _ = try await right.acquire(request)
        #expect(try await right.rawCommand(["EXISTS", right.lockKey(request.name)]) == .integer(1))
        for locker in [wrong, none, right] { await locker.shutdown() }
        await server.stop()
    }

    @Test("an ACL user with a password authenticates; without permission it is .forbidden")
    func aclUser() async throws {
        let server = try await RedisTestServer.start()
        let admin = try RedisLocker(configuration: server.configuration())
        _ = try await admin.rawCommand(["ACL", "SETUSER", "locks", "on", ">pw", "~*", "&*", "+@all"])
        _ = try await admin.rawCommand(["ACL", "SETUSER", "reader", "on", ">pw", "~*", "+@read", "+ping"])
        var configuration = server.configuration(keyPrefix: uniquePrefix())
        configuration.username = "locks"
        configuration.password = "pw"
        let user = try RedisLocker(configuration: configuration)
        let request = try AcquireRequest(name: LockName("acl"), holder: "a", duration: .seconds(5))
        _ = try await user.acquire(request)
        configuration.username = "reader"
        let reader = try RedisLocker(configuration: configuration)
        guard try await lockheedError({ try await reader.acquire(request) }).code == .forbidden else {
            Issue.record("a user without EVALSHA must be .forbidden")
            return
        }
        for locker in [admin, user, reader] { await locker.shutdown() }
        await server.stop()
    }
}

/// The number of clients connected to the server on `port` (this query's included).
func connectedClients(port: Int) async throws -> Int {
    let probe = try RedisLocker(configuration: RedisConfiguration(port: port, poolSize: 1))
    let reply = try await probe.rawCommand(["CLIENT", "LIST"])
    await probe.shutdown()
    return (reply.text ?? "").split(separator: "\n").count
}

/// Waits until `locker`'s background check of the eviction policy (started by its first
/// acquire) is over, so it holds no connection when a test freezes the server.
func settleStorageCheck(of locker: RedisLocker) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while locker.storageCheck.withLock({ $0 }) != .done && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(5))
    }
}
