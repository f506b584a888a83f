import LockheedCore
import Testing

let retryCases: [ConformanceCase] = [
    ConformanceCase("a waiting acquire succeeds soon after the holder releases") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lockName = try name("retry-wait")
        _ = try await a.acquire(request(lockName, "holder-a"))
        let waiter = try Lock(lockName, locker: b).retry(.wait(upTo: .seconds(120))).keepAlive(false)
        let started = ContinuousClock.now
        let acquired = Task { try await waiter.acquire() }
        try await Task.sleep(for: .milliseconds(300))
        _ = try await a.release(lockName, holder: "holder-a")
        _ = try await acquired.value
        // Bounds well apart from the deadline, so a loaded machine blurs neither.
        #expect(ContinuousClock.now - started < .seconds(30))
        try await waiter.release()
    },
    ConformanceCase("retry gives up after its attempts with the holder's details") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lockName = try name("retry-exhaust")
        _ = try await a.acquire(request(lockName, "holder-a"))
        let waiter = try Lock(lockName, locker: b).retry(.attempts(3, delay: .milliseconds(50)))
        let events = waiter.events()
        let error = try await lockheedError { try await waiter.acquire() }
        #expect(error.heldBy == ["holder-a"])
        var failures = 0
        for await event in events {
            if case .acquireFailed = event { failures += 1 }
            if failures == 3 { break }
        }
        #expect(failures == 3)
    },
    ConformanceCase("retry stops at its deadline") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lockName = try name("retry-deadline")
        _ = try await a.acquire(request(lockName, "holder-a"))
        let waiter = try Lock(lockName, locker: b).retry(.wait(upTo: .milliseconds(500)))
        let started = ContinuousClock.now
        #expect(try await lockheedError { try await waiter.acquire() }.code == .held)
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(450) && elapsed < .seconds(10), "gave up after \(elapsed)")
    },
    ConformanceCase("cancelling a waiting acquire ends it promptly") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lockName = try name("retry-cancel")
        _ = try await a.acquire(request(lockName, "holder-a"))
        let waiter = try Lock(lockName, locker: b).retry(.wait())
        let task = Task { try await waiter.acquire() }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        guard case .failure(let error as LockheedError) = result, error == .cancelled else {
            Issue.record("expected .cancelled, got \(result)")
            return
        }
        #expect(try await b.state(of: lockName)?.leases.map(\.holder) == ["holder-a"])
    },
]
