import Foundation
import LockheedConformance
import LockheedCore
import LockheedMemory
import Synchronization
import Testing

@Suite("Lease keeping", .timeSensitive)
struct LeaseKeepingTests {
    @Test("when renewals keep failing, the body is cancelled before the lease can expire")
    func bodyCancelledBeforeExpiry() async throws {
        let locker = FaultInjectingLocker()
        let duration = Duration.milliseconds(1200)
        let lock = try Lock("flaky", locker: locker).duration(duration).renewInterval(.milliseconds(200))
        let acquiredAt = Mutex<ContinuousClock.Instant?>(nil)
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        let task = Task {
            try await lock.withLock { _ in
                acquiredAt.withLock { $0 = .now }
                locker.faults.withLock { $0.renewFails = .unavailable("injected: server unreachable") }
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelledAt.withLock { $0 = .now } }
            }
        }
        let result = await task.result
        guard case .failure(let error as LockheedError) = result, error.code == .lost else {
            Issue.record("expected .lost, got \(result)")
            return
        }
        let start = try #require(acquiredAt.withLock { $0 })
        let cancelled = try #require(cancelledAt.withLock { $0 })
        #expect(cancelled - start < duration, "cancelled \(cancelled - start) after acquiring; lease lasts \(duration)")
        #expect(cancelled - start > .milliseconds(300), "transient failures are retried before giving up")
    }

    @Test("a lease that survives transient failures keeps the body running")
    func transientFailuresAreTolerated() async throws {
        let locker = FaultInjectingLocker()
        let lock = try Lock("blip", locker: locker).duration(.seconds(2)).renewInterval(.milliseconds(200))
        let value = try await lock.withLock { held in
            locker.faults.withLock { $0.renewFails = .unavailable("injected: server unreachable") }
            try await Task.sleep(for: .milliseconds(450))
            locker.faults.withLock { $0.renewFails = nil }
            try await Task.sleep(for: .milliseconds(2500))
            return held.fencingToken
        }
        #expect(value == 1)
    }
}

@Suite("Change notifier", .timeSensitive)
struct ChangeNotifierTests {
    @Test func notifyWakesWaiterEarly() async throws {
        let notifier = ChangeNotifier()
        let name = try LockName("n")
        let start = ContinuousClock.now
        async let waited: Void = notifier.wait(for: name, timeout: .seconds(120))
        try await Task.sleep(for: .milliseconds(100))
        notifier.notify(name)
        try await waited
        // Far below the timeout, so a loaded machine cannot make a wake-up look like a timeout.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test("a notification that came before the wait, but after the attempt, is not lost")
    func earlyNotificationIsNotLost() async throws {
        let notifier = ChangeNotifier()
        let name = try LockName("n")
        let attempt = ContinuousClock.now
        notifier.notify(name)
        let start = ContinuousClock.now
        try await notifier.wait(for: name, since: attempt, timeout: .seconds(120))
        #expect(ContinuousClock.now - start < .seconds(60))
        let later = ContinuousClock.now
        try await notifier.wait(for: name, since: later, timeout: .milliseconds(200))
        #expect(ContinuousClock.now - later >= .milliseconds(190), "an older notification must not end a newer wait")
    }

    @Test(
        "once a task has waited, notifications are kept per lock: another lock's does not end a wait, an early one is not lost"
    )
    func notificationsAreKeptPerLockOnceWaitedFor() async throws {
        let notifier = ChangeNotifier()
        let (a, b) = (try LockName("a"), try LockName("b"))
        notifier.notify(a)  // before any wait: the first wait returns at once
        try await notifier.wait(for: a, since: .now, timeout: .seconds(120))
        let attempt = ContinuousClock.now
        notifier.notify(b)
        let start = ContinuousClock.now
        try await notifier.wait(for: b, since: attempt, timeout: .seconds(120))
        #expect(ContinuousClock.now - start < .seconds(60), "b's notification came after the attempt")
        let later = ContinuousClock.now
        notifier.notify(b)
        try await notifier.wait(for: a, since: later, timeout: .milliseconds(200))
        #expect(ContinuousClock.now - later >= .milliseconds(190), "b's notification must not end a wait for a")
    }

    @Test func timeoutReturnsWithoutNotification() async throws {
        let notifier = ChangeNotifier()
        let start = ContinuousClock.now
        try await notifier.wait(for: LockName("n"), timeout: .milliseconds(100))
        #expect(ContinuousClock.now - start >= .milliseconds(90))
    }
}
