import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import Testing

@testable import LockheedRedis

@Suite("Redis storage format and bad input", .timeSensitive)
struct RedisStorageTests {
    @Test("a non-lock value under a lock's key is .malformedState for that lock only")
    func foreignValue() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let bad = try LockName("foreign")
        let good = try LockName("fine")
        _ = try await locker.rawCommand(["SET", locker.lockKey(bad), "hello"])
        let request = try AcquireRequest(name: bad, holder: "a", duration: .seconds(5))
        for error in [
            try await lockheedError { try await locker.acquire(request) },
            try await lockheedError { try await locker.renew(bad, holder: "a", duration: .seconds(5)) },
            try await lockheedError { try await locker.release(bad, holder: "a") },
            try await lockheedError { try await locker.state(of: bad) },
            try await lockheedError { try await locker.breakLock(bad, if: nil) },
        ] {
            let (which, detail) = (error.lock, error.message)
            guard error.code == .malformedState else {
                Issue.record("expected .malformedState, got \(error)")
                continue
            }
            #expect(which == bad)
            #expect(detail.contains("string"))
        }
        _ = try await locker.acquire(try AcquireRequest(name: good, holder: "a", duration: .seconds(5)))
        #expect(try await locker.list().map(\.name) == [good], "listing skips the malformed lock")
        _ = try await locker.rawCommand(["DEL", locker.lockKey(bad)])
        _ = try await locker.rawCommand(["HSET", locker.lockKey(bad), "owner", "someone"])
        guard try await lockheedError({ try await locker.acquire(request) }).code == .malformedState else {
            Issue.record("a foreign hash must be .malformedState")
            return
        }
        await fixture.tearDown()
    }

    @Test("a newer storage format is .incompatibleStorage and is left untouched")
    func newerFormat() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let name = try LockName("future")
        _ = try await locker.rawCommand(["HSET", locker.lockKey(name), "format", "2", "whatever", "x"])
        let error = try await lockheedError {
            try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(5)))
        }
        guard error.code == .incompatibleStorage else {
            Issue.record("expected .incompatibleStorage, got \(error)")
            return
        }
        #expect(try await locker.rawCommand(["HGET", locker.lockKey(name), "format"]) == .string("2"))
        await fixture.tearDown()
    }

    @Test("lock keys expire by themselves; the fencing counter never does and survives them")
    func keyExpiry() async throws {
        let server = try await SharedRedisServer.shared.get()
        var configuration = server.configuration(keyPrefix: uniquePrefix())
        configuration.idleRetention = .seconds(1)
        let fixture = try await RedisFixture(configuration: configuration)
        let locker = try fixture.makeRedisLocker()
        let name = try LockName("abandoned")
        let first = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(2)))
        let ttl = try #require(try await locker.rawCommand(["PTTL", locker.lockKey(name)]).int)
        #expect(ttl > 2_000 && ttl <= 3_000, "TTL is the lease plus the idle retention, got \(ttl)")
        #expect(try await locker.rawCommand(["PTTL", locker.fenceKey(name)]) == .integer(-1))

        _ = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: nil))
        #expect(try await locker.rawCommand(["PTTL", locker.lockKey(name)]) == .integer(-1), "no expiry: persistent")
        _ = try await locker.release(name, holder: "a")
        let idle = try #require(try await locker.rawCommand(["PTTL", locker.lockKey(name)]).int)
        #expect(idle > 0 && idle <= 1_000)

        try await Task.sleep(for: .milliseconds(1_300))
        #expect(try await locker.rawCommand(["EXISTS", locker.lockKey(name)]) == .integer(0))
        #expect(try await locker.state(of: name) == nil)
        let second = try await locker.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(2)))
        #expect(second.fencingToken > first.fencingToken)
        await fixture.tearDown()
    }

    @Test("key prefixes isolate applications sharing one server")
    func prefixes() async throws {
        let one = try await RedisFixture()
        let two = try await RedisFixture()
        let a = try one.makeRedisLocker()
        let b = try two.makeRedisLocker()
        let name = try LockName("shared-name")
        _ = try await a.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(5)))
        _ = try await b.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(5)))
        #expect(try await a.list().flatMap(\.leases).map(\.holder) == ["a"])
        #expect(try await b.list().flatMap(\.leases).map(\.holder) == ["b"])
        await one.tearDown()
        await two.tearDown()
    }

    @Test("leases are timed by the server's clock")
    func serverClock() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let name = try LockName("clock")
        let lease = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(10)))
        let time = try #require(try await locker.rawCommand(["TIME"]).array)
        let server = Double(time[0].int!) + Double(time[1].int!) / 1e6
        #expect(abs(lease.acquiredAt.timeIntervalSince1970 - server) < 1)
        #expect(lease.expiresAt!.timeIntervalSince(lease.acquiredAt) == 10)
        await fixture.tearDown()
    }

    @Test("script digests match the server's")
    func digests() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        for script in [RedisScript.acquire, .renew, .release, .breakLock, .read, .expireLeases] {
            #expect(try await locker.rawCommand(["SCRIPT", "LOAD", script.source]) == .string(script.sha1))
        }
        await fixture.tearDown()
    }

    @Test("a flushed script cache falls back to EVAL")
    func noScript() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let name = try LockName("noscript")
        _ = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(5)))
        _ = try await locker.rawCommand(["SCRIPT", "FLUSH"])
        #expect(try await locker.release(name, holder: "a"))
        await fixture.tearDown()
    }

    @Test("10,000 locks list in SCAN batches")
    func bigList() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let count = 10_000
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 4) {
                        _ = try await locker.acquire(
                            try AcquireRequest(
                                name: LockName("bulk-\(index)"), holder: "h", duration: .seconds(60),
                                tags: index % 2 == 0 ? ["even"] : []))
                    }
                }
            }
            try await group.waitForAll()
        }
        let started = ContinuousClock.now
        let all = try await locker.list()
        let elapsed = ContinuousClock.now - started
        #expect(all.count == count)
        #expect(Set(all.map(\.name)).count == count)
        #expect(try await locker.list(matching: .tagsContain("even")).count == count / 2)
        print("listed \(count) redis locks in \(elapsed)")
        await fixture.tearDown()
    }

    @Test("invalid configurations are rejected before connecting")
    func configuration() {
        for configuration in [
            RedisConfiguration(port: 0), RedisConfiguration(keyPrefix: ""), RedisConfiguration(keyPrefix: "a b"),
            RedisConfiguration(poolSize: 0), RedisConfiguration(database: -1),
            RedisConfiguration(commandTimeout: .zero),
        ] {
            #expect(throws: LockheedError.self) { try RedisLocker(configuration: configuration) }
        }
    }
}
