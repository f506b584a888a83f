import LockheedCore
import Testing

let forceCases: [ConformanceCase] = [
    ConformanceCase("forced takeover happens only when the condition matches the stored state") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("force")
        let old = try await a.acquire(request(lock, "holder-a", tags: ["batch"]))
        let refused = try await lockheedError {
            try await b.acquire(request(lock, "holder-b", force: .tagsContain("interactive")))
        }
        #expect(refused.heldBy == ["holder-a"])
        let taken = try await b.acquire(request(lock, "holder-b", force: .tagsContain("batch") && .heldBy("holder-a")))
        #expect(taken.fencingToken > old.fencingToken)
        #expect(try await b.state(of: lock)?.leases.map(\.holder) == ["holder-b"])
        let error11 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(30)) }
        #expect(error11.code == .lost)
    }
]
