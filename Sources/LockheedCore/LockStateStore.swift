import Foundation

/// The storage under ``StateStoreLocker``: what a backend that keeps each lock's whole
/// ``LockState`` in one record implements. The locking algorithm (``LockState``'s transitions)
/// is then written once, above it, as client-go's `resourcelock` puts one leader-election
/// algorithm above narrow storage.
///
/// Contract: ``update(_:_:)`` is atomic per lock name (a transaction, a compare-and-set on a
/// version, a mutex) and may apply the transition more than once when it retries after a
/// conflict (a ``LockTransition`` has no effect but on the state it is given). Times are the
/// store's own clock.
public protocol LockStateStore: Sendable {
    /// A short backend name for logs and metrics, e.g. `"sqlite"`.
    var backendName: String { get }

    /// What the backend supports.
    var capabilities: LockerCapabilities { get }

    /// Reads `name`'s state (`nil` when never stored), applies `transition` to it at the store's
    /// current time, and writes the state back when it changed (`nil` deletes it), atomically.
    func update<Transition: LockTransition>(
        _ name: LockName, _ transition: Transition
    ) async throws(LockheedError) -> Transition.Outcome

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

    /// Grants or refreshes a lease (``LockTransitions/Acquire``).
    @inlinable
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        try await store.update(request.name, LockTransitions.Acquire(request))
    }

    /// Extends the holder's lease (``LockTransitions/Renew``); never re-acquires.
    @inlinable
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await store.update(name, LockTransitions.Renew(name, holder: holder, duration: duration))
    }

    /// Removes the holder's lease only (``LockTransitions/Release``).
    @inlinable
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await store.update(name, LockTransitions.Release(holder: holder))
    }

    /// Removes every lease when `condition` matches (``LockTransitions/Break``).
    @inlinable
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await store.update(name, LockTransitions.Break(if: condition))
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
