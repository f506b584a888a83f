import LockheedCore
import Testing

let fencingCases: [ConformanceCase] = [
    ConformanceCase("fencing tokens rise on every grant: after release, break and takeover") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("fencing")
        var tokens: [UInt64] = []
        tokens.append(try await a.acquire(request(lock, "holder-a")).fencingToken)
        _ = try await a.release(lock, holder: "holder-a")
        tokens.append(try await b.acquire(request(lock, "holder-b")).fencingToken)
        tokens.append(try await a.acquire(request(lock, "holder-a", force: .heldBy("holder-b"))).fencingToken)
        _ = try await b.breakLock(lock, if: nil)
        tokens.append(try await b.acquire(request(lock, "holder-b")).fencingToken)
        let refreshed = try await b.acquire(request(lock, "holder-b")).fencingToken
        #expect(refreshed == tokens.last, "a refresh is not a new grant")
        #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 }, "tokens \(tokens) must strictly rise")
        #expect(try await a.state(of: lock)?.fencingCounter == tokens.last)
    },
    ConformanceCase("fencing tokens rise after expiry", requires: .expireHook) { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("fencing-expiry")
        let first = try await a.acquire(request(lock, "holder-a")).fencingToken
        try await fixture.expireLeases(of: lock)
        let second = try await b.acquire(request(lock, "holder-b")).fencingToken
        try await fixture.expireLeases(of: lock)
        let third = try await b.acquire(request(lock, "holder-b")).fencingToken
        #expect(first < second && second < third, "an expired holder coming back is a new grant")
    },
    ConformanceCase("a lost fencing counter restarts above every token issued before", requires: .loseCounterHook) {
        fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("fencing-lost")
        var tokens: [UInt64] = []
        for round in 0..<3 {
            let holder = round.isMultiple(of: 2) ? "holder-a" : "holder-b"
            let locker = round.isMultiple(of: 2) ? a : b
            tokens.append(try await locker.acquire(request(lock, holder)).fencingToken)
            _ = try await locker.release(lock, holder: holder)
        }
        try await fixture.loseFencingCounter(of: lock)
        // A client that starts after the loss knows nothing of earlier tokens.
        let fresh = try await fixture.makeLocker()
        let after = try await fresh.acquire(request(lock, "holder-b")).fencingToken
        #expect(tokens.allSatisfy { $0 < after }, "token \(after) after the loss must exceed \(tokens)")
        _ = try await fresh.release(lock, holder: "holder-b")
        try await fixture.loseFencingCounter(of: lock)
        let again = try await a.acquire(request(lock, "holder-a")).fencingToken
        #expect(after < again, "a second loss must not repeat \(after)")
        let held = try await a.acquire(request(lock, "holder-a")).fencingToken
        #expect(held == again, "a refresh is not a new grant")
    },
]
