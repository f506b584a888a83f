import Foundation
import LockheedConformance
import LockheedCore
import LockheedMemory
import Synchronization
import Testing

/// The lease's certain validity is a hard deadline for the holder's work, whatever the backend
/// does: hangs, late replies, lost replies, and handles that outlive or drop their lease.
@Suite("Lease deadline", .timeSensitive)
struct LeaseDeadlineTests {
    @Test("a renewal that hangs uncancellably is abandoned: the body stops before the lease can expire")
    func hangingRenewalIsAbandoned() async throws {
        let locker = FaultInjectingLocker()
        let duration = Duration.seconds(3)
        let lock = try Lock("hang", locker: locker).duration(duration).renewInterval(.seconds(1))
        let sentBefore = ContinuousClock.now
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        let result = await Task {
            try await lock.withLock { _ in
                locker.faults.withLock { $0.renewHang = .seconds(12) }
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelledAt.withLock { $0 = .now } }
            }
        }.result
        guard case .failure(let error as LockheedError) = result, error.code == .lost else {
            Issue.record("expected .lost, got \(result)")
            return
        }
        let cancelled = try #require(cancelledAt.withLock { $0 })
        #expect(cancelled - sentBefore < duration, "body cancelled \(cancelled - sentBefore) after the grant")
        #expect(cancelled - sentBefore >= .milliseconds(1900), "not before the certain validity's end")
    }

    @Test("a grant whose reply arrives after the lease's certain validity never runs the body")
    func lateGrantDoesNotRunBody() async throws {
        let locker = FaultInjectingLocker()
        locker.faults.withLock { $0.acquireReplyDelays = [.milliseconds(1500)] }
        let lock = try Lock("late", locker: locker, holder: "late-holder")
            .duration(.seconds(1)).renewInterval(.milliseconds(300)).configure { $0.backendTimeout = .zero }
        let ran = Atomic<Bool>(false)
        await #expect(throws: LockheedError.self) {
            try await lock.withLock { _ in ran.store(true, ordering: .relaxed) }
        }
        let bodyRan = ran.load(ordering: .relaxed)
        #expect(!bodyRan, "the body ran on a lease that had already expired")
        #expect(await eventuallyFree(locker, "late"), "the untrusted grant must be released")
    }

    @Test("a late grant is retried as a refresh when the retry policy allows")
    func lateGrantIsRetried() async throws {
        let locker = FaultInjectingLocker()
        locker.faults.withLock { $0.acquireReplyDelays = [.milliseconds(1500)] }
        let lock = try Lock("late-retry", locker: locker).duration(.seconds(2)).renewInterval(.milliseconds(300))
            .retry(.wait(upTo: .seconds(20)))
        let events = lock.events()
        let token = try await lock.withLock { held in
            held.fencingToken
        }
        var failures = 0
        for await event in events {
            if case .acquireFailed = event { failures += 1 }
            if case .released = event { break }
        }
        #expect(failures >= 1)
        #expect(token == 1, "the retry refreshed the first grant rather than taking a new token")
    }

    @Test("an acquire whose reply is lost leaves no orphan lease, even one without expiry")
    func lostReplyLeavesNoOrphan() async throws {
        let locker = FaultInjectingLocker()
        locker.faults.withLock { $0.acquireReplyLost = .timedOut("injected: reply lost") }
        let lock = try Lock("orphan", locker: locker).duration(nil).configure { $0.backendTimeout = .zero }
        await #expect(throws: LockheedError.self) { try await lock.acquire() }
        #expect(await eventuallyFree(locker, "orphan"), "the possibly granted lease must be released")
    }

    @Test("a cancelled acquire leaves no orphan lease")
    func cancelledAcquireLeavesNoOrphan() async throws {
        let locker = FaultInjectingLocker()
        locker.faults.withLock { $0.acquireReplyDelays = [.seconds(2)] }
        let lock = try Lock("cancelled", locker: locker).duration(nil)
        let task = Task { try await lock.acquire() }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        _ = await task.result
        #expect(await eventuallyFree(locker, "cancelled", within: .seconds(10)))
    }

    @Test("isHeld and fencingToken turn false and nil when the lease's validity passes unrenewed")
    func handleStateFollowsValidity() async throws {
        let lock = try Lock("validity", locker: MemoryLocker()).duration(.milliseconds(400)).keepAlive(false)
        let lease = try await lock.acquire()
        #expect(lock.isHeld)
        #expect(lock.fencingToken == lease.fencingToken)
        #expect(lock.validUntil != nil)
        try await Task.sleep(for: .milliseconds(600))
        #expect(!lock.isHeld)
        #expect(lock.fencingToken == nil)
        #expect(lock.validUntil == nil)
    }

    @Test("a dropped handle stops renewing and releases its lease")
    func droppedHandleStopsRenewing() async throws {
        let locker = FaultInjectingLocker()
        do {
            let lock = try Lock("dropped", locker: locker).duration(.seconds(2)).renewInterval(.milliseconds(100))
            try await lock.acquire()
            try await Task.sleep(for: .milliseconds(350))
        }
        #expect(await eventuallyFree(locker, "dropped", within: .seconds(3)))
        let settled = locker.renewals.load(ordering: .relaxed)
        try await Task.sleep(for: .milliseconds(500))
        let later = locker.renewals.load(ordering: .relaxed)
        #expect(later == settled, "renewals went on after the handle was dropped")
    }

    @Test("a failing backend is retried for backendTimeout, then reported, even without a retry policy")
    func failingBackendIsBounded() async throws {
        let locker = FaultInjectingLocker()
        locker.faults.withLock { $0.acquireFails = .unavailable("injected: connection refused") }
        for policy in [RetryPolicy.none, .wait(upTo: .seconds(120))] {
            let lock = try Lock("down", locker: locker).retry(policy).configure { $0.backendTimeout = .seconds(1) }
            let start = ContinuousClock.now
            let error = await #expect(throws: LockheedError.self) { try await lock.acquire() }
            let elapsed = ContinuousClock.now - start
            let message = error?.message ?? ""
            guard error?.code == .unavailable else {
                Issue.record("expected .unavailable, got \(String(describing: error))")
                continue
            }
            #expect(message.contains("still failing"))
            #expect(elapsed >= .milliseconds(900) && elapsed < .seconds(10), "gave up after \(elapsed)")
        }
        let attempts = locker.acquires.load(ordering: .relaxed)
        #expect(attempts >= 4, "the backend was retried")
    }

    private func eventuallyFree(
        _ locker: FaultInjectingLocker, _ name: String, within timeout: Duration = .seconds(5)
    ) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard let state = try? await locker.inner.state(of: LockName(name)) else { return true }
            if state.leases.isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
