import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import Testing

@testable import LockheedRedis

extension RedisDedicatedServerTests {
    @Suite("Redis fencing tokens through the loss of the counter")
    struct RedisFencingTests {
        @Test("a restart without persistence: tokens after it exceed every token before it")
        func restartWithoutPersistence() async throws {
            let server = try await RedisTestServer.start()
            let configuration = server.configuration(keyPrefix: uniquePrefix())
            let locker = try RedisLocker(configuration: configuration)
            let name = try LockName("restarted")
            let before = try await grants(3, on: locker, name: name)

            await server.stop()
            let restarted = try await server.restart()
            // The pool's connections to the stopped server fail once each, then reconnect.
            for _ in 0...configuration.poolSize {
                if (try? await locker.rawCommand(["PING"])) != nil { break }
            }
            #expect(try await locker.rawCommand(["DBSIZE"]) == .integer(0), "the restarted server kept no data")
            let after = try await grants(3, on: locker, name: name)
            let highest = try #require(before.max())
            #expect(after.allSatisfy { $0 > highest }, "tokens \(after) after the restart must exceed \(before)")
            #expect(zip(after, after.dropFirst()).allSatisfy { $0 < $1 }, "tokens \(after) must strictly rise")
            await locker.shutdown()
            await restarted.stop()
        }

        @Test("maxmemory with allkeys-lru evicts the counter: the next token still exceeds every earlier one")
        func eviction() async throws {
            let server = try await RedisTestServer.start(extraArguments: [
                "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru",
            ])
            let configuration = server.configuration(keyPrefix: uniquePrefix())
            let locker = try RedisLocker(configuration: configuration)
            let name = try LockName("evicted")
            let before = try await grants(3, on: locker, name: name)

            // Junk written until both of the lock's keys are evicted (bounded: 64 MB of junk at most).
            // Few large values, so the least recently used sample soon holds the lock's old keys.
            let junk = String(repeating: "x", count: 64 * 1_024)
            var batch = 0
            while batch < 256 {
                let fence = try await locker.rawCommand(["EXISTS", locker.fenceKey(name)])
                let lock = try await locker.rawCommand(["EXISTS", locker.lockKey(name)])
                if fence == .integer(0) && lock == .integer(0) { break }
                var command = ["MSET"]
                for index in 0..<4 { command += ["junk:\(batch):\(index)", junk] }
                _ = try await locker.rawCommand(command)
                batch += 1
            }
            #expect(
                try await locker.rawCommand(["EXISTS", locker.fenceKey(name)]) == .integer(0), "the counter was evicted"
            )
            let stats = try await locker.rawCommand(["INFO", "stats"]).text ?? ""
            #expect(!stats.contains("evicted_keys:0\r\n"))

            let after = try await grants(2, on: locker, name: name)
            let highest = try #require(before.max())
            #expect(after.allSatisfy { $0 > highest }, "tokens \(after) after the eviction must exceed \(before)")
            await locker.shutdown()
            await server.stop()
        }

        @Test("the token rises above the counter key, the lock's record and its leases, whichever survives")
        func maximumOfEverySource() async throws {
            let fixture = try await RedisFixture()
            let locker = try fixture.makeRedisLocker()
            let name = try LockName("sources")
            let first = try await grants(1, on: locker, name: name)[0]

            // The counter key survives with a value above the clock; the lock key is lost.
            let high = first + 1_000_000_000_000
            _ = try await locker.rawCommand(["SET", locker.fenceKey(name), String(high)])
            _ = try await locker.rawCommand(["DEL", locker.lockKey(name)])
            let second = try await grants(1, on: locker, name: name)[0]
            #expect(second > high, "token \(second) must exceed the surviving counter \(high)")

            // The lock key survives (its record of the last token above the clock); the counter is lost.
            let higher = second + 1_000_000_000_000
            _ = try await locker.rawCommand(["HSET", locker.lockKey(name), "fence", String(higher)])
            _ = try await locker.rawCommand(["DEL", locker.fenceKey(name)])
            let third = try await grants(1, on: locker, name: name)[0]
            #expect(third > higher, "token \(third) must exceed the lock's record \(higher)")
            #expect(try await locker.state(of: name)?.fencingCounter == third)

            // A held lease's token, with both counters lost.
            let held = try await locker.acquire(
                try AcquireRequest(name: name, holder: "holder", duration: .seconds(30)))
            _ = try await locker.rawCommand(["DEL", locker.fenceKey(name)])
            _ = try await locker.rawCommand(["HDEL", locker.lockKey(name), "fence"])
            let state = try await locker.state(of: name)
            #expect(state?.fencingCounter == held.fencingToken, "the read counter falls back on the leases")
            await fixture.tearDown()
        }

        @Test("an operator's TTL on the counter key is removed by the next grant")
        func counterNeverExpires() async throws {
            let fixture = try await RedisFixture()
            let locker = try fixture.makeRedisLocker()
            let name = try LockName("ttl")
            _ = try await grants(1, on: locker, name: name)
            _ = try await locker.rawCommand(["PEXPIRE", locker.fenceKey(name), "60000"])
            _ = try await grants(1, on: locker, name: name)
            #expect(try await locker.rawCommand(["PTTL", locker.fenceKey(name)]) == .integer(-1))
            await fixture.tearDown()
        }

        @Test("a counter key that holds no integer is .malformedState")
        func malformedCounter() async throws {
            let fixture = try await RedisFixture()
            let locker = try fixture.makeRedisLocker()
            let name = try LockName("bad-counter")
            _ = try await locker.rawCommand(["SET", locker.fenceKey(name), "twelve"])
            let error = try await lockheedError {
                try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(5)))
            }
            let which = error.lock
            guard error.code == .malformedState else {
                Issue.record("expected .malformedState, got \(error)")
                return
            }
            #expect(which == name)
            await fixture.tearDown()
        }
    }
}

/// `count` grants of `name` to fresh holders, each released at once; their tokens in order.
func grants(_ count: Int, on locker: RedisLocker, name: LockName) async throws -> [UInt64] {
    var tokens: [UInt64] = []
    for index in 0..<count {
        let holder = "holder-\(index)-\(UInt32.random(in: 0...UInt32.max))"
        let lease = try await locker.acquire(try AcquireRequest(name: name, holder: holder, duration: .seconds(30)))
        tokens.append(lease.fencingToken)
        _ = try await locker.release(name, holder: holder)
    }
    return tokens
}
