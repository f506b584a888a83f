import LockheedCore
import Testing

let releaseCases: [ConformanceCase] = [
    ConformanceCase("release removes only the caller's lease and is idempotent") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("release")
        _ = try await a.acquire(request(lock, "holder-a"))
        #expect(try await b.release(lock, holder: "holder-b") == false)
        #expect(try await b.state(of: lock)?.leases.map(\.holder) == ["holder-a"])
        #expect(try await a.release(lock, holder: "holder-a"))
        #expect(try await a.release(lock, holder: "holder-a") == false)
        #expect(try await a.state(of: lock)?.leases.isEmpty ?? true)
        _ = try await b.acquire(request(lock, "holder-b"))
    },
    ConformanceCase(
        "a stale release after losing the lock does not delete the new holder's lease", requires: .expireHook
    ) { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try name("stale-release")
        _ = try await a.acquire(request(lock, "holder-a"))
        try await fixture.expireLeases(of: lock)
        _ = try await b.acquire(request(lock, "holder-b"))
        _ = try await a.release(lock, holder: "holder-a")
        #expect(try await b.state(of: lock)?.leases.map(\.holder) == ["holder-b"])
        let error8 = try await lockheedError { try await a.acquire(request(lock, "holder-a")) }
        #expect(error8.code == .held)
    },
    ConformanceCase("renew after the lock was broken is lost and never re-acquires") { fixture in
        let (a, admin) = try await twoLockers(fixture)
        let lock = try name("broken")
        _ = try await a.acquire(request(lock, "holder-a"))
        let removed = try await admin.breakLock(lock, if: nil)
        #expect(removed.map(\.holder) == ["holder-a"])
        let error9 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(30)) }
        #expect(error9.code == .lost)
        #expect(try await admin.state(of: lock)?.leases.isEmpty ?? true)
    },
    ConformanceCase("break removes leases only when its condition matches") { fixture in
        let (a, admin) = try await twoLockers(fixture)
        let lock = try name("break-if")
        _ = try await a.acquire(request(lock, "holder-a", tags: ["x"]))
        #expect(try await admin.breakLock(lock, if: .tagsContain("y")).isEmpty)
        #expect(try await admin.state(of: lock)?.leases.map(\.holder) == ["holder-a"])
        #expect(try await admin.breakLock(lock, if: .tagsContain("x")).map(\.holder) == ["holder-a"])
        #expect(try await admin.state(of: lock)?.leases.isEmpty ?? true)
        #expect(try await admin.breakLock(name("break-missing"), if: nil).isEmpty)
    },
]
