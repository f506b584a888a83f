import LockheedCore
import Testing

/// How long a waiter may take to notice another client's change: far below the waits' timeout,
/// so a backend that only slept through the timeout fails.
private let wakeBound = Duration.seconds(3)
private let waitTimeout = Duration.seconds(20)

let notificationCases: [ConformanceCase] = [
    ConformanceCase(
        "a release, a takeover and a break by another client wake a waiter long before its timeout",
        requires: .changeNotification
    ) { fixture in
        let (a, waiter) = try await twoLockers(fixture)
        let lock = try name("wake")
        try await fixture.prepareToWait(on: waiter)
        /// Starts a wait, lets it settle, makes `change`; returns how long the wait took after it.
        func wakeLatency(_ change: @escaping @Sendable () async throws -> Void) async throws -> Duration {
            let waiting = Task { try await waiter.waitForChange(of: lock, timeout: waitTimeout) }
            try await Task.sleep(for: .milliseconds(100))
            let changed = ContinuousClock.now
            try await change()
            try await waiting.value
            return ContinuousClock.now - changed
        }
        _ = try await a.acquire(request(lock, "holder-a"))
        let afterRelease = try await wakeLatency {
            let released = try await a.release(lock, holder: "holder-a")
            #expect(released)
        }
        #expect(afterRelease < wakeBound, "woken \(afterRelease) after a release")
        _ = try await a.acquire(request(lock, "holder-a"))
        let afterTakeover = try await wakeLatency {
            _ = try await a.acquire(request(lock, "holder-b", force: .heldBy("holder-a")))
        }
        #expect(afterTakeover < wakeBound, "woken \(afterTakeover) after a takeover")
        let afterBreak = try await wakeLatency {
            let removed = try await a.breakLock(lock, if: nil)
            #expect(removed.count == 1)
        }
        #expect(afterBreak < wakeBound, "woken \(afterBreak) after a break")
    },
    ConformanceCase(
        "a release between a refused acquire and the wait is not missed", requires: .changeNotification
    ) { fixture in
        let (a, waiter) = try await twoLockers(fixture)
        let lock = try name("early-release")
        try await fixture.prepareToWait(on: waiter)
        _ = try await a.acquire(request(lock, "holder-a"))
        let attempted = ContinuousClock.now
        let refusal = try await lockheedError { try await waiter.acquire(request(lock, "holder-b")) }
        #expect(refusal.code == .held)
        let released = try await a.release(lock, holder: "holder-a")
        #expect(released)
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        try await waiter.waitForChange(of: lock, since: attempted, timeout: waitTimeout)
        let waited = ContinuousClock.now - started
        #expect(waited < wakeBound, "waited \(waited) for a release that came before the wait")
        _ = try await waiter.acquire(request(lock, "holder-b"))
    },
]
