import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import Testing

@testable import LockheedRedis

/// The acquire and release scripts start with a fast path for the common case; these tests hold
/// it to the storage format the general path writes.
@Suite("Redis script fast paths", .timeSensitive)
struct RedisFastPathTests {
    /// The lock hash's fields, the counter key and the hash's TTL in milliseconds.
    private func stored(_ locker: RedisLocker, _ name: LockName) async throws -> ([String: String], String?, Int64) {
        let items = try await locker.rawCommand(["HGETALL", locker.lockKey(name)]).array ?? []
        var fields: [String: String] = [:]
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            if let key = items[index].text { fields[key] = items[index + 1].text }
        }
        let counter = try await locker.rawCommand(["GET", locker.fenceKey(name)]).text
        let ttl = try await locker.rawCommand(["PTTL", locker.lockKey(name)]).int ?? -3
        return (fields, counter, ttl)
    }

    @Test("a fast acquire and release write what the general path writes")
    func fastPathsMatchTheGeneralPath() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let retention = locker.configuration.idleRetention.wholeMilliseconds
        let (fast, general) = (try LockName("fast"), try LockName("general"))
        for name in [fast, general] {
            _ = try await locker.acquire(try AcquireRequest(name: name, holder: "first", duration: .seconds(20)))
        }
        // `fast` ends with no lease at all (the fast acquire's case); `general` with an expired
        // lease, which the general path drops: the same grant follows on both.
        #expect(try await locker.release(fast, holder: "first"))
        try await fixture.expireLeases(of: general)
        let (before, _, idle) = try await stored(locker, fast)
        #expect(before["leases"] == "" && idle > retention - 5_000 && idle <= retention, "released: idle retention")
        let request = { (name: LockName) in try AcquireRequest(name: name, holder: "second", duration: .seconds(30)) }
        let leases = [try await locker.acquire(request(fast)), try await locker.acquire(request(general))]
        for (name, lease) in zip([fast, general], leases) {
            let (fields, counter, ttl) = try await stored(locker, name)
            let token = String(lease.fencingToken)
            let acquired = String(Int64((lease.acquiredAt.timeIntervalSince1970 * 1000).rounded()))
            let expires = String(Int64((lease.expiresAt!.timeIntervalSince1970 * 1000).rounded()))
            #expect(fields["leases"] == "second \(acquired) \(expires) \(token)", "\(name)")
            #expect(fields["fence"] == token && counter == token, "\(name): the token is stored twice")
            #expect(
                fields["format"] == "1" && fields["type"] == "mutex" && fields["max"] == "1" && fields["tags"] == "")
            #expect(fields["version"] == "3", "\(name): raised by each of the three writes")
            #expect(ttl > retention + 25_000 && ttl <= retention + 30_000, "\(name): idle retention after the lease")
        }
        #expect(leases[0].fencingToken > 0 && leases[1].fencingToken > leases[0].fencingToken)
        for name in [fast, general] {
            #expect(try await locker.release(name, holder: "second"))
            let (fields, counter, ttl) = try await stored(locker, name)
            #expect(fields["leases"] == "" && fields["version"] == "4", "\(name)")
            #expect(counter == fields["fence"], "\(name): the counter and fence are kept")
            #expect(ttl > retention - 5_000 && ttl <= retention, "\(name)")
        }
        // Not the holder's: nothing changes, on either path.
        #expect(try await locker.release(fast, holder: "stranger") == false)
        #expect(try await stored(locker, fast).0["version"] == "4")
        await fixture.tearDown()
    }

    @Test("the fast paths fall through to the general path's errors on a malformed counter or lease")
    func malformedInputLeavesTheFastPath() async throws {
        let fixture = try await RedisFixture()
        let locker = try fixture.makeRedisLocker()
        let name = try LockName("odd")
        let request = try AcquireRequest(name: name, holder: "a", duration: .seconds(20))
        _ = try await locker.acquire(request)
        _ = try await locker.release(name, holder: "a")
        _ = try await locker.rawCommand(["SET", locker.fenceKey(name), "twelve"])
        #expect(try await lockheedError { try await locker.acquire(request) }.code == .malformedState)
        _ = try await locker.rawCommand(["SET", locker.fenceKey(name), "12"])
        _ = try await locker.acquire(request)
        _ = try await locker.rawCommand(["HSET", locker.lockKey(name), "leases", "a 1 x 5"])
        #expect(try await lockheedError { try await locker.release(name, holder: "a") }.code == .malformedState)
        await fixture.tearDown()
    }
}
