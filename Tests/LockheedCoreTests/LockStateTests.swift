import Foundation
import Testing

@testable import LockheedCore

@Suite("LockState transitions")
struct LockStateTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    let lock = try! LockName("state")

    func request(
        _ holder: String, _ duration: Duration? = .seconds(10), type: LockType = .mutex, force: Condition? = nil
    )
        throws -> AcquireRequest
    {
        try AcquireRequest(name: lock, holder: holder, type: type, duration: duration, force: force)
    }

    @Test func expiredLeasesDoNotCountAndAreDropped() throws {
        var state = LockState(name: lock)
        try state.acquire(request("a"), now: now)
        #expect(throws: LockheedError.self) { try state.acquire(request("b"), now: now.addingTimeInterval(9.999)) }
        let lease = try state.acquire(request("b"), now: now.addingTimeInterval(10))
        #expect(lease.fencingToken == 2)
        #expect(state.leases.map(\.holder) == ["b"])
    }

    @Test func renewOfExpiredLeaseIsLostNotReacquired() throws {
        var state = LockState(name: lock)
        try state.acquire(request("a"), now: now)
        #expect(throws: LockheedError.lost(lock, holder: "a")) {
            try state.renew(holder: "a", duration: .seconds(10), now: now.addingTimeInterval(11))
        }
        #expect(state.leases.first?.expiresAt == now.addingTimeInterval(10))
    }

    @Test func forceNeedsAMatchAndBumpsTheCounter() throws {
        var state = LockState(name: lock, tags: ["x"])
        try state.acquire(request("a"), now: now)
        #expect(throws: LockheedError.self) { try state.acquire(request("b", force: .tagsContain("y")), now: now) }
        let lease = try state.acquire(request("b", force: .tagsContain("x")), now: now)
        #expect(lease.fencingToken == 2)
        #expect(state.leases.map(\.holder) == ["b"])
    }

    @Test func breakKeepsTheCounterAndHonoursTheCondition() throws {
        var state = LockState(name: lock)
        try state.acquire(request("a"), now: now)
        #expect(state.breakLeases(if: .heldBy("z"), now: now).isEmpty)
        #expect(state.breakLeases(if: nil, now: now).map(\.holder) == ["a"])
        #expect(state.fencingCounter == 1)
        #expect(try state.acquire(request("b"), now: now).fencingToken == 2)
    }

    @Test func sharedLimitAndMismatch() throws {
        var state = LockState(name: lock)
        try state.acquire(request("a", type: .shared(maxHolders: 2)), now: now)
        try state.acquire(request("b", type: .shared(maxHolders: 2)), now: now)
        #expect(throws: LockheedError.self) { try state.acquire(request("c", type: .shared(maxHolders: 2)), now: now) }
        #expect(
            throws: LockheedError.typeMismatch(
                lock, existing: .shared(maxHolders: 2), requested: .shared(maxHolders: 3))
        ) {
            try state.acquire(request("c", type: .shared(maxHolders: 3)), now: now)
        }
    }

    @Test func codableRoundTrip() throws {
        var state = LockState(name: lock, tags: ["a", "b"])
        try state.acquire(request("a", nil, type: .shared(maxHolders: 4)), now: now)
        let decoded = try JSONDecoder().decode(LockState.self, from: JSONEncoder().encode(state))
        #expect(decoded == state)
    }
}

@Suite("Conditions")
struct ConditionTests {
    let now = Date()

    @Test func evaluation() throws {
        let state = LockState(
            name: try LockName("build-main"), type: .shared(maxHolders: 3),
            leases: [
                Lease(holder: "ci-7", acquiredAt: now, expiresAt: now.addingTimeInterval(60), fencingToken: 4),
                Lease(holder: "old", acquiredAt: now, expiresAt: now.addingTimeInterval(-1), fencingToken: 3),
            ], tags: ["nightly", "db"], fencingCounter: 4)
        #expect(Condition.acquired.matches(state, at: now))
        #expect(Condition.leaseCount(1).matches(state, at: now), "expired leases do not count")
        #expect(!Condition.heldBy("old").matches(state, at: now))
        #expect(Condition.tagsEqual(["db", "nightly"]).matches(state, at: now))
        #expect(Condition.isShared.matches(state, at: now))
        #expect(try (Condition.nameContains("main") && !.tagsContain("weekly")).matches(state, at: now))
        #expect(!(try Condition.or([.notAcquired, .name("other")])).matches(state, at: now))
        #expect(try Condition(.holder, .contains, .string("ci-")).matches(state, at: now))
    }

    @Test func descriptionIsReadable() throws {
        let condition: Condition = try .acquired && .tagsContain("nightly")
        #expect(condition.description == #"(acquired == true and tags contains "nightly")"#)
    }
}
