import LockheedCore

/// A ``Locker`` on a ``MemoryLockStore``: for unit tests and single-process programs.
///
/// ```swift
/// let store = MemoryLockStore()
/// let a = try Lock("job", locker: store.makeLocker())
/// let b = try Lock("job", locker: store.makeLocker())
/// ```
public struct MemoryLocker: Locker {
    /// The store whose locks this locker shares.
    public let store: MemoryLockStore

    /// A locker on `store` (a new private store by default).
    public init(store: MemoryLockStore = MemoryLockStore()) { self.store = store }

    /// `"memory"`.
    public var backendName: String { "memory" }

    /// Shared locks and change notification; not cross-process.
    public var capabilities: LockerCapabilities { [.sharedLocks, .changeNotification] }

    /// Grants or refreshes a lease atomically in the store.
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        try store.update(request.name) { state, now throws(LockheedError) in
            var current = state ?? LockState(name: request.name)
            let lease = try current.acquire(request, now: now)
            state = current
            return lease
        }
    }

    /// Extends the holder's lease, or throws ``LockheedError/lost(_:holder:)``.
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try store.update(name) { state, now throws(LockheedError) in
            guard var current = state else { throw .lost(name, holder: holder) }
            let lease = try current.renew(holder: holder, duration: duration, now: now)
            state = current
            return lease
        }
    }

    /// Removes the holder's lease only.
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try store.update(name) { state, _ in
            guard var current = state else { return false }
            let removed = current.release(holder: holder)
            state = current
            return removed != nil
        }
    }

    /// Removes every lease when `condition` matches.
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try store.update(name) { state, now in
            guard var current = state else { return [] }
            let removed = current.breakLeases(if: condition, now: now)
            state = current
            return removed
        }
    }

    /// The state of `name`, pruned of expired leases.
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        store.snapshot().first { $0.name == name }
    }

    /// Every stored lock matching `condition`.
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        let now = store.currentDate
        return store.snapshot().filter { condition?.matches($0, at: now) ?? true }
    }

    /// Returns when `name` changes in this store, or after `timeout`.
    public func waitForChange(of name: LockName, timeout: Duration) async throws(LockheedError) {
        try await store.wait(for: name, since: nil, timeout: timeout)
    }

    /// Returns at once if `name` changed in this store after `since`, else as
    /// ``waitForChange(of:timeout:)``.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await store.wait(for: name, since: since, timeout: timeout)
    }
}
