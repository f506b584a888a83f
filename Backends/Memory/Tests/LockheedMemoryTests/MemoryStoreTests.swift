import Foundation
import LockheedConformance
import LockheedCore
@_spi(Testing) import LockheedMemory
import Testing

@Suite("Memory store", .timeSensitive)
struct MemoryStoreTests {
    @Test("injected time expires leases without sleeping")
    func manualTimeExpiry() async throws {
        let time = ManualTime()
        let store = MemoryLockStore(now: { time.now })
        let a = store.makeLocker()
        let b = store.makeLocker()
        let name = try LockName("manual-time")
        let first = try await a.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(60)))
        time.advance(by: .seconds(59))
        await #expect(throws: LockheedError.self) {
            try await b.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(60)))
        }
        time.advance(by: .seconds(1))
        let second = try await b.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(60)))
        #expect(second.fencingToken == first.fencingToken + 1)
        await #expect(throws: LockheedError.lost(name, holder: "a")) {
            try await a.renew(name, holder: "a", duration: .seconds(60))
        }
    }

    @Test("waiters wake when a lease goes away or is replaced, not on a renewal or a refreshing acquire")
    func waitersWakeOnVacancyOnly() async throws {
        let time = ManualTime()
        let store = MemoryLockStore(now: { time.now })
        let locker = store.makeLocker()
        let name = try LockName("wake")
        let a = try AcquireRequest(name: name, holder: "a", duration: .seconds(10))
        /// Whether a wait that began before `change` returned well before its 2 s timeout.
        func wakes(_ change: () async throws -> Void) async throws -> Bool {
            let since = ContinuousClock.now
            try await change()
            let started = ContinuousClock.now
            try await locker.waitForChange(of: name, since: since, timeout: .seconds(2))
            return ContinuousClock.now - started < .milliseconds(1500)
        }
        #expect(try await wakes { _ = try await locker.acquire(a) } == false)
        #expect(try await wakes { _ = try await locker.renew(name, holder: "a", duration: .seconds(10)) } == false)
        #expect(try await wakes { _ = try await locker.acquire(a) } == false)
        #expect(try await wakes { _ = try await locker.release(name, holder: "a") })
        _ = try await locker.acquire(a)
        time.advance(by: .seconds(11))
        let b = try AcquireRequest(name: name, holder: "b", duration: .seconds(10))
        #expect(try await wakes { _ = try await locker.acquire(b) }, "an expired lease dropped by a grant")
        let force = try AcquireRequest(name: name, holder: "c", duration: .seconds(10), force: .acquired)
        #expect(try await wakes { _ = try await locker.acquire(force) }, "a takeover")
        #expect(try await wakes { _ = try await locker.breakLock(name, if: nil) })
        _ = try await locker.acquire(a)
        #expect(try await wakes { store.deleteLock(name) })
    }

    @Test("lockers made from one store share locks; separate stores do not")
    func storesIsolate() async throws {
        let name = try LockName("isolated")
        let request = try AcquireRequest(name: name, holder: "a", duration: .seconds(60))
        _ = try await MemoryLocker().acquire(request)
        let other = try AcquireRequest(name: name, holder: "b", duration: .seconds(60))
        _ = try await MemoryLocker().acquire(other)
        let store = MemoryLockStore()
        _ = try await store.makeLocker().acquire(request)
        await #expect(throws: LockheedError.self) { try await store.makeLocker().acquire(other) }
    }

    @Test("a release wakes a waiter at once instead of after its backoff")
    func releaseWakesWaiter() async throws {
        let store = MemoryLockStore()
        let name = try LockName("wake")
        let holder = store.makeLocker()
        _ = try await holder.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(60)))
        let waiter = try Lock(name, locker: store.makeLocker())
            .retry(RetryPolicy(maxAttempts: nil, initialDelay: .seconds(120), maxDelay: .seconds(120), jitter: 0))
            .keepAlive(false)
        let task = Task { try await waiter.acquire() }
        try await Task.sleep(for: .milliseconds(200))
        let released = ContinuousClock.now
        _ = try await holder.release(name, holder: "a")
        _ = try await task.value
        // The backoff is long enough that no load on the machine can blur the two.
        #expect(ContinuousClock.now - released < .seconds(60), "woken by the release, not the 120 s backoff")
    }
}
