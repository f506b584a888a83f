import Foundation
import LockheedCore
import Testing

let inputCases: [ConformanceCase] = [
    ConformanceCase("invalid names, tags, holders, durations and conditions are typed errors before any backend call") {
        fixture in
        for bad in ["", "Upper", "under_score", "-leading", "trailing-", "a b", String(repeating: "a", count: 64), "ü"]
        {
            #expect(throws: LockheedError.self, "name \"\(bad)\"") { try LockName(bad) }
        }
        #expect(try LockName(String(repeating: "a", count: 63)).rawValue.count == 63)
        let lock = try name("input")
        #expect(throws: LockheedError.self) { try request(lock, "h", tags: ["bad tag"]) }
        #expect(throws: LockheedError.self) { try request(lock, "h", tags: ["dup", "dup"]) }
        #expect(throws: LockheedError.self) { try request(lock, "") }
        #expect(throws: LockheedError.self) { try request(lock, "has space") }
        #expect(throws: LockheedError.self) { try request(lock, "h", duration: .milliseconds(1)) }
        #expect(throws: LockheedError.self) { try request(lock, "h", type: .shared(maxHolders: 0)) }
        #expect(throws: LockheedError.self) { try Condition(.acquired, .contains, .string("x")) }
        #expect(throws: LockheedError.self) { try Condition(.tags, .equals, .string("x")) }
        #expect(throws: LockheedError.self) { try Condition(.type, .equals, .string("rwlock")) }
        #expect(throws: LockheedError.self) { try Condition.and([]) }
        let badJSON = Data(#"{"operation":"contains","field":"acquired","value":"x"}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Condition.self, from: badJSON) }

        let locker = try await fixture.makeLocker()
        let handle = try Lock(lock, locker: locker).duration(.seconds(1)).renewInterval(.seconds(1))
        let error = try await lockheedError { try await handle.acquire() }
        guard error.code == .invalidConfiguration else {
            Issue.record("expected .invalidConfiguration, got \(error)")
            return
        }
        #expect(try await locker.state(of: lock) == nil, "nothing may reach the backend")
    },
    ConformanceCase("conditions round-trip through JSON in the Go original's shape") { _ in
        let condition: Condition = try .acquired && (.tagsContain("nightly") || !.heldBy("build-7")) && .leaseCount(1)
        let data = try JSONEncoder().encode(condition)
        #expect(try JSONDecoder().decode(Condition.self, from: data) == condition)
        let go = Data(#"{"operation":"contains","field":"tags","value":"tag2"}"#.utf8)
        #expect(try JSONDecoder().decode(Condition.self, from: go) == .tagsContain("tag2"))
    },
]
