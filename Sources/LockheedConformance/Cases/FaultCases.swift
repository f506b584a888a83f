import LockheedCore
import Testing

let faultCases: [ConformanceCase] = [
    ConformanceCase("deleting a held lock out of band makes the holder's renew lost", requires: .deleteHook) {
        fixture in
        let a = try await fixture.makeLocker()
        let lock = try name("deleted")
        _ = try await a.acquire(request(lock, "holder-a"))
        try await fixture.deleteLock(lock)
        let error10 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(30)) }
        #expect(error10.isLost)
        _ = try await a.acquire(request(lock, "holder-b"))
    },
    ConformanceCase("withLock cancels its body when the lock is deleted out of band", requires: .deleteHook) {
        fixture in
        let a = try await fixture.makeLocker()
        let lock = try Lock("deleted-scoped", locker: a).duration(.seconds(5)).renewInterval(.milliseconds(250))
        let task = Task {
            try await lock.withLock { _ in try await Task.sleep(for: .seconds(30)) }
        }
        #expect(await eventually(within: .seconds(5)) { lock.isHeld })
        try await fixture.deleteLock(lock.name)
        let started = ContinuousClock.now
        let result = await task.result
        #expect(ContinuousClock.now - started < .seconds(3))
        guard case .failure(let error as LockheedError) = result, error.isLost else {
            Issue.record("expected .lost, got \(result)")
            return
        }
    },
    ConformanceCase("malformed stored state is a typed error for that lock only", requires: .corruptHook) { fixture in
        let a = try await fixture.makeLocker()
        let good = try name("good")
        let bad = try name("bad")
        _ = try await a.acquire(request(bad, "holder-a"))
        try await fixture.corruptState(of: bad)
        let error = try await lockheedError { try await a.acquire(request(bad, "holder-b")) }
        guard case .malformedState(let which, _) = error else {
            Issue.record("expected .malformedState, got \(error)")
            return
        }
        #expect(which == bad)
        guard case .malformedState = try await lockheedError({ try await a.state(of: bad) }) else {
            Issue.record("state(of:) must report the malformed state")
            return
        }
        _ = try await a.acquire(request(good, "holder-a"))
        #expect(try await a.state(of: good)?.leases.count == 1)
    },
]
