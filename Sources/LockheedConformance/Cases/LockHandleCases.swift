import LockheedCore
import Testing

let lockHandleCases: [ConformanceCase] = [
    ConformanceCase("withLock in a task that is cancelled still releases its lease at once") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try Lock("cancelled-holder", locker: a).duration(.seconds(60))
        let holding = Task {
            try await lock.withLock { _ in try await Task.sleep(for: .seconds(60)) }
        }
        #expect(await eventually(within: .seconds(5)) { lock.isHeld })
        holding.cancel()
        _ = await holding.result
        let state = try await b.state(of: lock.name)
        #expect(
            state?.leases.isEmpty ?? true, "the cancelled holder's lease is still stored: \(String(describing: state))")
        _ = try await b.acquire(request(lock.name, "holder-b"))
    },
    ConformanceCase("withLock keeps the lease alive for several durations and releases at the end") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try Lock("keepalive", locker: a).duration(.milliseconds(900)).renewInterval(.milliseconds(200))
        let token = try await lock.withLock { held in
            for _ in 0..<8 {
                try await Task.sleep(for: .milliseconds(350))
                let error = try await lockheedError { try await b.acquire(request(lock.name, "holder-b")) }
                #expect(error.heldBy == [lock.holder], "the lease must still be ours after \(held.lease)")
            }
            return held.fencingToken
        }
        #expect(token > 0)
        #expect(lock.isHeld == false)
        _ = try await b.acquire(request(lock.name, "holder-b"))
    },
    ConformanceCase("withLock cancels its body within a renew interval of a forced takeover") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let interval = Duration.milliseconds(300)
        let lock = try Lock("takeover", locker: a).duration(.seconds(5)).renewInterval(interval)
        let cancelledAt = Collector<ContinuousClock.Instant>()
        let forcedAt = Collector<ContinuousClock.Instant>()
        let outcome = Task {
            try await lock.withLock { held in
                try await withTaskCancellationHandler {
                    try await Task.sleep(for: .seconds(30))
                } onCancel: {
                    Task { await cancelledAt.append(.now) }
                }
                return held.fencingToken
            }
        }
        #expect(await eventually(within: .seconds(5)) { lock.isHeld })
        await forcedAt.append(.now)
        _ = try await b.acquire(request(lock.name, "holder-b", force: .heldBy(lock.holder)))
        let result = await outcome.result
        guard case .failure(let error as LockheedError) = result, error.code == .lost else {
            Issue.record("withLock must throw .lost, got \(result)")
            return
        }
        #expect(await eventually(within: .seconds(2)) { await !cancelledAt.values.isEmpty })
        let delay = try #require(await cancelledAt.values.first) - #require(await forcedAt.values.first)
        #expect(delay < interval * 2 + .seconds(1), "body cancelled \(delay) after the takeover")
        #expect(
            try await b.state(of: lock.name)?.leases.map(\.holder) == ["holder-b"],
            "the loser must not release the winner")
    },
    ConformanceCase("a background-renewed lock reports loss as an event and stops being held") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try Lock("bg-loss", locker: a).duration(.seconds(5)).renewInterval(.milliseconds(200))
        let events = lock.events()
        let lease = try await lock.acquire()
        #expect(lock.fencingToken == lease.fencingToken)
        _ = try await b.breakLock(lock.name, if: nil)
        var sawLost = false
        var sawAcquired = false
        for await event in events {
            if case .acquired = event { sawAcquired = true }
            if case .lost = event {
                sawLost = true
                break
            }
        }
        #expect(sawAcquired && sawLost)
        #expect(lock.isHeld == false)
        #expect(try await b.state(of: lock.name)?.leases.isEmpty ?? true, "loss must never re-acquire")
        try await lock.release()
    },
    ConformanceCase("manual renew extends the lease; release ends it") { fixture in
        let (a, b) = try await twoLockers(fixture)
        let lock = try Lock("manual", locker: a).duration(.seconds(20)).keepAlive(false)
        let first = try await lock.acquire()
        let renewed = try await lock.renew()
        #expect(renewed.fencingToken == first.fencingToken)
        #expect(try #require(renewed.expiresAt) >= #require(first.expiresAt))
        try await lock.release()
        try await lock.release()
        let error7 = try await lockheedError { try await lock.renew() }
        #expect(error7 == .notHeld(lock.name))
        _ = try await b.acquire(request(lock.name, "holder-b"))
    },
]
