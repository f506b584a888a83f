import Foundation
import LockheedCore
import Testing

let acquireCases: [ConformanceCase] = [
    ConformanceCase("acquire refuses another holder and says who holds it until when") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("refuse")
        let before = Date()
        let lease = try await a.acquire(request(lock, "holder-a", duration: .seconds(30)))
        #expect(lease.holder == "holder-a")
        #expect(lease.fencingToken > 0)
        let error = try await lockheedError { try await b.acquire(request(lock, "holder-b")) }
        let (heldName, holders) = (error.lock, error.holders)
        guard error.code == .held else {
            Issue.record("expected .held, got \(error)")
            return
        }
        #expect(heldName == lock)
        #expect(holders.map(\.holder) == ["holder-a"])
        let expiry = try #require(holders.first?.expiresAt)
        #expect(abs(expiry.timeIntervalSince(before) - 30) < 10, "expiry should be about 30 s away")
        let state = try #require(try await b.state(of: lock))
        #expect(state.leases.map(\.holder) == ["holder-a"])
        #expect(state.type == .mutex)
    },
    ConformanceCase("the same holder acquiring again refreshes its lease and keeps its token") { fixture in
        let a = try await fixture.makeLocker()
        let lock = try name("refresh")
        let first = try await a.acquire(request(lock, "holder-a", duration: .seconds(5)))
        let second = try await a.acquire(request(lock, "holder-a", duration: .seconds(60)))
        #expect(second.fencingToken == first.fencingToken)
        #expect(try #require(second.expiresAt) > #require(first.expiresAt).addingTimeInterval(30))
        let state = try #require(try await a.state(of: lock))
        #expect(state.leases.count == 1)
    },
    ConformanceCase("a lease with no duration never expires and can be renewed and released") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("forever")
        let lease = try await a.acquire(request(lock, "holder-a", duration: nil))
        #expect(lease.expiresAt == nil)
        let error3 = try await lockheedError { try await b.acquire(request(lock, "holder-b")) }
        #expect(error3.code == .held)
        let renewed = try await a.renew(lock, holder: "holder-a", duration: nil)
        #expect(renewed.expiresAt == nil)
        #expect(renewed.fencingToken == lease.fencingToken)
        #expect(try await a.release(lock, holder: "holder-a"))
        _ = try await b.acquire(request(lock, "holder-b"))
    },
    ConformanceCase("an expired lease is taken over and its old holder's renew is lost", requires: .expireHook) {
        fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("expire")
        let old = try await a.acquire(request(lock, "holder-a"))
        try await fixture.expireLeases(of: lock)
        let new = try await b.acquire(request(lock, "holder-b"))
        #expect(new.fencingToken > old.fencingToken)
        let error4 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(30)) }
        #expect(error4.code == .lost)
        let state = try #require(try await a.state(of: lock))
        #expect(state.leases.map(\.holder) == ["holder-b"], "a lost renew must never re-acquire")
    },
    ConformanceCase("a short lease expires on time by itself", requires: .shortLeases) { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("short")
        _ = try await a.acquire(request(lock, "holder-a", duration: .milliseconds(400)))
        let error5 = try await lockheedError { try await b.acquire(request(lock, "holder-b")) }
        #expect(error5.code == .held)
        try await Task.sleep(for: .milliseconds(900))
        _ = try await b.acquire(request(lock, "holder-b"))
        let error6 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(1)) }
        #expect(error6.code == .lost)
    },
    ConformanceCase("the state of a lock never stored is nil") { fixture in
        let a = try await fixture.makeLocker()
        #expect(try await a.state(of: name("never-stored")) == nil)
        #expect(try await a.list().filter { $0.name.rawValue == "never-stored" }.isEmpty)
    },
]
