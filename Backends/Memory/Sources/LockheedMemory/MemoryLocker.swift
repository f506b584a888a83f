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

    /// Runs `transition` on the state of `name` under the store's lock.
    @inlinable
    public func update<T: Sendable>(
        _ name: LockName, _ transition: @escaping @Sendable (inout LockState?, Date) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        try modify(name, transition)
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
