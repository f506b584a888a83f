import Foundation

/// The storage under ``StateStoreLocker``: what a backend that keeps each lock's whole
/// ``LockState`` in one record implements. The locking algorithm (``LockState``'s transitions)
/// is then written once, above it, as client-go's `resourcelock` puts one leader-election
/// algorithm above narrow storage.
///
/// Contract: ``update(_:_:)`` is atomic per lock name (a transaction, a compare-and-set on a
/// version, a mutex) and may run `transition` more than once when it retries after a conflict,
/// so `transition` has no effect but on the state it is given. Times are the store's own clock.
public protocol LockStateStore: Sendable {
    /// A short backend name for logs and metrics, e.g. `"sqlite"`.
    var backendName: String { get }

    /// What the backend supports.
    var capabilities: LockerCapabilities { get }

    /// Reads `name`'s state (`nil` when never stored), runs `transition` on it with the store's
    /// current time, and writes the state back when it changed (`nil` deletes it), atomically.
    func update<T: Sendable>(
        _ name: LockName, _ transition: @escaping @Sendable (inout LockState?, Date) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T

    /// `name`'s stored state (expired leases included) and the store's current time.
    func read(_ name: LockName) async throws(LockheedError) -> (state: LockState?, now: Date)

    /// Every stored state (expired leases included) and the store's current time.
    func readAll() async throws(LockheedError) -> (states: [LockState], now: Date)

    /// Returns when `name` may have changed after `since`, or after `timeout`; the default sleeps.
    func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)

    /// Closes connections and stops background work.
    func shutdown() async
}

extension LockStateStore {
    /// Polls: sleeps for `timeout`.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await sleepCancellable(for: timeout)
    }

    /// Nothing to close by default.
    public func shutdown() async {}
}

/// The one ``Locker`` for every ``LockStateStore``: each operation is one atomic
/// read-transition-write of the lock's whole state.
///
/// Its methods are inlinable, so a caller's module specializes them for its store (no generic
/// dispatch per call: the in-memory store runs over a million cycles a second).
public struct StateStoreLocker<Store: LockStateStore>: Locker {
    /// The storage.
    public let store: Store

    /// A locker on `store`.
    @inlinable
    public init(store: Store) { self.store = store }

    /// The store's backend name.
    @inlinable
    public var backendName: String { store.backendName }
    /// The store's capabilities.
    @inlinable
    public var capabilities: LockerCapabilities { store.capabilities }

    /// Grants or refreshes a lease (``LockState/acquire(_:now:)``).
    @inlinable
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        try await store.update(request.name) { state, now throws(LockheedError) in
            // Taken out of `state` and put back, so the lease array is not shared while it is
            // changed (a shared one is copied). A refused acquire puts back what it read, with
            // expired leases dropped. Stores that write only after success ignore that.
            var current = state.take() ?? LockState(name: request.name)
            defer { state = current }
            return try current.acquire(request, now: now)
        }
    }

    /// Extends the holder's lease (``LockState/renew(holder:duration:now:)``); never re-acquires.
    @inlinable
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await store.update(name) { state, now throws(LockheedError) in
            guard var current = state.take() else { throw .lost(name, holder: holder) }
            defer { state = current }
            return try current.renew(holder: holder, duration: duration, now: now)
        }
    }

    /// Removes the holder's lease only (``LockState/release(holder:)``).
    @inlinable
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await store.update(name) { state, _ in
            guard var current = state.take() else { return false }
            defer { state = current }
            return current.release(holder: holder) != nil
        }
    }

    /// Removes every lease when `condition` matches (``LockState/breakLeases(if:now:)``).
    @inlinable
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await store.update(name) { state, now in
            guard var current = state.take() else { return [] }
            defer { state = current }
            return current.breakLeases(if: condition, now: now)
        }
    }

    /// The state of `name`, pruned of expired leases.
    @inlinable
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        let (state, now) = try await store.read(name)
        return state?.pruned(at: now)
    }

    /// Every stored lock matching `condition`, pruned of expired leases, by name.
    @inlinable
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        let (states, now) = try await store.readAll()
        return states.map { $0.pruned(at: now) }.filter { condition?.matches($0, at: now) ?? true }
            .sorted { $0.name < $1.name }
    }

    /// Returns at once if `name` changed after `since`, else when it changes or after `timeout`.
    @inlinable
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await store.waitForChange(of: name, since: since, timeout: timeout)
    }

    /// Shuts the store down.
    @inlinable
    public func shutdown() async { await store.shutdown() }
}
