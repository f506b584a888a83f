import LockheedCore
import Testing

let listCases: [ConformanceCase] = [
    ConformanceCase("list filters with nested and/or/not conditions over acquired, tags, name and holder") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let alpha = try name("alpha")
        let beta = try name("beta")
        let gamma = try name("gamma")
        _ = try await a.acquire(request(alpha, "holder-a", tags: ["nightly", "db"]))
        _ = try await b.acquire(request(beta, "holder-b", tags: ["nightly"]))
        _ = try await a.acquire(request(gamma, "holder-a", tags: ["db"]))
        _ = try await a.release(gamma, holder: "holder-a")
        let ours: Set<LockName> = [alpha, beta, gamma]

        func names(_ condition: Condition?) async throws -> Set<LockName> {
            Set(try await b.list(matching: condition).map(\.name)).intersection(ours)
        }
        #expect(try await names(nil) == [alpha, beta, gamma])
        #expect(try await names(.acquired && .tagsContain("nightly")) == [alpha, beta])
        #expect(try await names(!.acquired || (.tagsContain("db") && .heldBy("holder-a"))) == [alpha, gamma])
        #expect(try await names(.or([.tagsEqual(["db"]), .name("beta")])) == [beta, gamma])
        #expect(try await names(.leaseCount(1) && .nameContains("a")) == [alpha, beta])
        #expect(try await names(.notAcquired) == [gamma])
        #expect(try await names(.isShared) == [])
        let listed = try await a.list(matching: .name("alpha"))
        #expect(listed.count == 1)
        #expect(listed.first?.tags == ["nightly", "db"])
        #expect(listed.first?.leases.map(\.holder) == ["holder-a"])
    }
]
