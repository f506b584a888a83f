import LockheedCore
import Synchronization
import Testing

let faultCases: [ConformanceCase] = [
    ConformanceCase(
        "a frozen connection stops the holder's work before its lease can expire, and before anyone else holds it",
        requires: .freezeHook
    ) { fixture in
        let frozen = try await fixture.makeFreezableClient()
        let other = try await fixture.makeLocker()
        let lock = try name("frozen")
        let duration = Duration.seconds(3)
        let holder = try Lock(lock, locker: frozen.locker).duration(duration).renewInterval(.seconds(1))
        let lastGrant = Mutex<ContinuousClock.Instant>(.now)
        let events = holder.events()
        let watcher = Task {
            for await event in events {
                if case .renewed = event { lastGrant.withLock { $0 = .now } }
            }
        }
        let frozeAt = Mutex<ContinuousClock.Instant?>(nil)
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        let holderEnded = Mutex(false)
        let holding = Task {
            defer { holderEnded.withLock { $0 = true } }
            try await holder.withLock { _ in
                try await Task.sleep(for: .milliseconds(1500))
                try await frozen.freeze()
                frozeAt.withLock { $0 = .now }
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelledAt.withLock { $0 = .now } }
            }
        }
        while frozeAt.withLock({ $0 }) == nil && !holderEnded.withLock({ $0 }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        if frozeAt.withLock({ $0 }) == nil {
            watcher.cancel()
            Issue.record("the holder's work ended before its connection froze: \(await holding.result)")
            return
        }
        let contending = Task {
            let contender = try Lock(lock, locker: other).retry(.wait(upTo: .seconds(60))).keepAlive(false)
            try await contender.acquire()
            let granted = ContinuousClock.now
            try await contender.release()
            return granted
        }
        let result = await holding.result
        try await frozen.thaw()
        let granted = try await contending.value
        watcher.cancel()
        guard case .failure(let error as LockheedError) = result, error.code == .lost else {
            Issue.record("expected .lost from withLock, got \(result)")
            return
        }
        let cancelled = try #require(cancelledAt.withLock { $0 })
        let renewed = lastGrant.withLock { $0 }
        #expect(cancelled - renewed < duration, "body cancelled \(cancelled - renewed) after the last renewal")
        #expect(cancelled < granted, "another holder was granted the lock before the body stopped")
    },
    ConformanceCase("deleting a held lock out of band makes the holder's renew lost", requires: .deleteHook) {
        fixture in
        let a = try await fixture.makeLocker()
        let lock = try name("deleted")
        _ = try await a.acquire(request(lock, "holder-a"))
        try await fixture.deleteLock(lock)
        let error10 = try await lockheedError { try await a.renew(lock, holder: "holder-a", duration: .seconds(30)) }
        #expect(error10.code == .lost)
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
        guard case .failure(let error as LockheedError) = result, error.code == .lost else {
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
        let which = error.lock
        guard error.code == .malformedState else {
            Issue.record("expected .malformedState, got \(error)")
            return
        }
        #expect(which == bad)
        guard try await lockheedError({ try await a.state(of: bad) }).code == .malformedState else {
            Issue.record("state(of:) must report the malformed state")
            return
        }
        _ = try await a.acquire(request(good, "holder-a"))
        #expect(try await a.state(of: good)?.leases.count == 1)
    },
]
