import LockheedCore
import Testing

let sharedCases: [ConformanceCase] = [
    ConformanceCase("a shared lock admits holders up to its limit, each with its own token", requires: .sharedLocks) {
        fixture in
        let locker = try await fixture.makeLocker()
        let lock = try name("shared")
        var tokens: [UInt64] = []
        for holder in ["s1", "s2", "s3"] {
            tokens.append(try await locker.acquire(request(lock, holder, type: .shared(maxHolders: 3))).fencingToken)
        }
        #expect(Set(tokens).count == 3)
        #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 })
        let full = try await lockheedError {
            try await locker.acquire(request(lock, "s4", type: .shared(maxHolders: 3)))
        }
        #expect(Set(full.heldBy) == ["s1", "s2", "s3"])
        let state = try #require(try await locker.state(of: lock))
        #expect(state.type == .shared(maxHolders: 3))
        #expect(state.leases.count == 3)
        #expect(try await locker.release(lock, holder: "s2"))
        _ = try await locker.acquire(request(lock, "s4", type: .shared(maxHolders: 3)))
    },
    ConformanceCase(
        "mutex and shared requests exclude each other; a different limit is a type mismatch", requires: .sharedLocks
    ) {
        fixture in
        let locker = try await fixture.makeLocker()
        let lock = try name("shared-mutex")
        _ = try await locker.acquire(request(lock, "s1", type: .shared(maxHolders: 2)))
        let error1 = try await lockheedError { try await locker.acquire(request(lock, "m1")) }
        #expect(error1.code == .held)
        let mismatch = try await lockheedError {
            try await locker.acquire(request(lock, "s2", type: .shared(maxHolders: 5)))
        }
        guard mismatch.code == .typeMismatch, let existing = mismatch.existingType,
            let requested = mismatch.requestedType
        else {
            Issue.record("expected .typeMismatch, got \(mismatch)")
            return
        }
        #expect(existing == .shared(maxHolders: 2))
        #expect(requested == .shared(maxHolders: 5))
        _ = try await locker.release(lock, holder: "s1")
        _ = try await locker.acquire(request(lock, "m1"))
        let error2 = try await lockheedError {
            try await locker.acquire(request(lock, "s1", type: .shared(maxHolders: 2)))
        }
        #expect(error2.code == .held)
        #expect(try await locker.state(of: lock)?.type == .mutex)
    },
]
