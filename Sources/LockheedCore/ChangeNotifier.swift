import Synchronization

/// Wakes in-process waiters when a lock changes. Backends use it to make
/// ``Locker/waitForChange(of:since:timeout:)`` return early after a local release.
///
/// Until the first wait, a notification costs one flag (no clock, no per-lock record), so a
/// store nobody waits on pays almost nothing for it; the first wait then returns at once if any
/// notification came before it (a waiter retries and waits again, so that costs one attempt).
public final class ChangeNotifier: Sendable {
    private enum Slot {
        case waiting(CheckedContinuation<Void, Never>)
        case cancelledEarly
    }

    private struct State {
        var nextID: UInt64 = 0
        var slots: [LockName: [UInt64: Slot]] = [:]
        /// When each lock was last notified, so a waiter that arrives late still sees it.
        var lastChange: [LockName: ContinuousClock.Instant] = [:]
        var lastChangeOfAll: ContinuousClock.Instant?

        /// Removes and returns the waiters of `name`, keeping the marks of waiters cancelled
        /// before they registered: such a waiter still has to find its mark, or it would wait
        /// for a notification that has already come.
        mutating func takeWaiting(of name: LockName) -> [CheckedContinuation<Void, Never>] {
            guard !slots.isEmpty, let entries = slots[name] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            var kept: [UInt64: Slot] = [:]
            for (id, slot) in entries {
                switch slot {
                case .waiting(let continuation): woken.append(continuation)
                case .cancelledEarly: kept[id] = slot
                }
            }
            slots[name] = kept.isEmpty ? nil : kept
            return woken
        }

        func changed(_ name: LockName, after instant: ContinuousClock.Instant) -> Bool {
            if let last = lastChange[name], last >= instant { return true }
            if let last = lastChangeOfAll, last >= instant { return true }
            return false
        }
    }

    private let state = Mutex(State())
    /// Whether a task has waited yet; until then a notification only sets
    /// `notifiedBeforeWaiters`, without the mutex. Both are sequentially consistent: a
    /// notifier sets its flag then reads `hasWaiters`, a first waiter sets `hasWaiters` then
    /// reads the flag, so at least one of them sees the other.
    private let hasWaiters = Atomic<Bool>(false)
    private let notifiedBeforeWaiters = Atomic<Bool>(false)

    /// Creates a notifier with no waiters.
    public init() {}

    /// Wakes every task waiting on `name`.
    public func notify(_ name: LockName) {
        if !hasWaiters.load(ordering: .sequentiallyConsistent) {
            if !notifiedBeforeWaiters.load(ordering: .relaxed) {
                notifiedBeforeWaiters.store(true, ordering: .sequentiallyConsistent)
            }
            guard hasWaiters.load(ordering: .sequentiallyConsistent) else { return }
        }
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.lastChange[name] = .now
            return state.takeWaiting(of: name)
        }
        for continuation in woken { continuation.resume() }
    }

    /// Wakes every waiter of every lock.
    public func notifyAll() {
        let woken = state.withLock { state in
            state.lastChangeOfAll = .now
            return state.slots.keys.flatMap { state.takeWaiting(of: $0) }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns on ``notify(_:)`` for `name` from the moment of this call on, or after
    /// `timeout`; throws ``LockheedError/cancelled`` when the task is cancelled.
    ///
    /// A notification that lands after the call but before the waiter is registered still
    /// wakes it. To include changes from an earlier instant, use ``wait(for:since:timeout:)``.
    public func wait(for name: LockName, timeout: Duration) async throws(LockheedError) {
        try await wait(for: name, since: .now, timeout: timeout)
    }

    /// Like ``wait(for:timeout:)``, but returns at once when `name` was notified after `since`:
    /// a notification between the caller's refused attempt and this call is not lost.
    public func wait(for name: LockName, since: ContinuousClock.Instant?, timeout: Duration) async throws(LockheedError)
    {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForNotification(name, since: since) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        if Task.isCancelled { throw .cancelled }
    }

    private func waitForNotification(_ name: LockName, since: ContinuousClock.Instant?) async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if case .cancelledEarly = state.slots[name]?[id] {
                        state.slots[name]?[id] = nil
                        return true
                    }
                    if !hasWaiters.load(ordering: .relaxed) {
                        hasWaiters.store(true, ordering: .sequentiallyConsistent)
                        if notifiedBeforeWaiters.load(ordering: .sequentiallyConsistent) { return true }
                    }
                    if let since, state.changed(name, after: since) { return true }
                    state.slots[name, default: [:]][id] = .waiting(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
                if case .waiting(let continuation) = state.slots[name]?[id] {
                    state.slots[name]?[id] = nil
                    return continuation
                }
                state.slots[name, default: [:]][id] = .cancelledEarly
                return nil
            }
            continuation?.resume()
        }
    }
}
