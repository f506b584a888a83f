import Foundation
import LockheedCore

/// A ``Locker`` on a ``MemoryLockStore``: for unit tests and single-process programs.
///
/// ```swift
/// let store = MemoryLockStore()
/// let a = try Lock("job", locker: store.makeLocker())
/// let b = try Lock("job", locker: store.makeLocker())
/// ```
public typealias MemoryLocker = StateStoreLocker<MemoryLockStore>

extension StateStoreLocker where Store == MemoryLockStore {
    /// A locker on a new private store.
    public init() { self.init(store: MemoryLockStore()) }
}

extension MemoryLockStore: LockStateStore {
    /// `"memory"`.
    public var backendName: String { "memory" }

    /// Shared locks and change notification; not cross-process.
    public var capabilities: LockerCapabilities { [.sharedLocks, .changeNotification] }

    /// Applies `transition` to the state of `name` under the store's lock.
    @inlinable
    public func update<Transition: LockTransition>(
        _ name: LockName, _ transition: Transition
    ) async throws(LockheedError) -> Transition.Outcome {
        try modify(name) { state, now throws(LockheedError) in try transition.apply(to: &state, now: now) }
    }

    /// The stored state of `name` and the store's time.
    public func read(_ name: LockName) async throws(LockheedError) -> (state: LockState?, now: Date) {
        (rawState(of: name), currentDate)
    }

    /// Every stored state and the store's time.
    public func readAll() async throws(LockheedError) -> (states: [LockState], now: Date) {
        (allStates(), currentDate)
    }

    /// Returns when `name` changed in this store after `since`, or after `timeout`.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await wait(for: name, since: since, timeout: timeout)
    }
}
