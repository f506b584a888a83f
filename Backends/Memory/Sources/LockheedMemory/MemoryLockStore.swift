import Foundation
import LockheedCore
import Synchronization

/// An in-process lock store. Every ``MemoryLocker`` made from one store shares its locks, so a
/// unit test can play several program instances against each other.
///
/// Time is injectable: pass a `now` closure (for example a ``ManualTime``) to test expiry
/// without sleeping.
public final class MemoryLockStore: Sendable {
    /// Optional values, so a stored state is handed to a transition in place (`values[index]`)
    /// with one hash of the name and no copy; `nil` is never stored.
    @usableFromInline let locks = Mutex<[LockName: LockState?]>([:])
    @usableFromInline let notifier = ChangeNotifier()
    @usableFromInline let now: @Sendable () -> Date

    /// Creates an empty store reading time from `now` (the system clock by default).
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    /// A locker on this store.
    public func makeLocker() -> MemoryLocker { MemoryLocker(store: self) }

    /// Runs `body` on the stored state of `name` atomically and wakes waiters when a lease went
    /// away or was replaced (a release, a break, a takeover, an expired lease dropped), whether
    /// `body` returned or threw. Inlinable, so callers specialize it (the in-memory store's hot
    /// path); the state is changed where it is stored (one hash of the name, no copy).
    @inlinable
    func modify<T: Sendable>(
        _ name: LockName, _ body: (inout LockState?, Date) throws(LockheedError) -> T
    ) throws(LockheedError) -> T {
        let date = now()
        var changed = false
        defer { if changed { notifier.notify(name) } }
        return try locks.withLock { (locks) throws(LockheedError) -> T in
            guard let index = locks.index(forKey: name) else {
                var state: LockState? = nil
                defer { if let state { locks[name] = state } }
                return try body(&state, date)
            }
            var isEmpty = false
            defer { if isEmpty { locks.remove(at: index) } }
            return try Self.transform(&locks.values[index], date, body, changed: &changed, isEmpty: &isEmpty)
        }
    }

    /// Runs `body` on `state` where it is stored (read in place, never copied) and tells
    /// whether the occupants changed and whether no state is left.
    @inlinable @inline(__always)
    static func transform<T>(
        _ state: inout LockState?, _ date: Date, _ body: (inout LockState?, Date) throws(LockheedError) -> T,
        changed: inout Bool, isEmpty: inout Bool
    ) throws(LockheedError) -> T {
        let before = Occupants(of: &state)
        defer {
            changed = Occupants(of: &state) != before
            isEmpty = state == nil
        }
        return try body(&state, date)
    }

    /// All stored states, expired leases included.
    func allStates() -> [LockState] { locks.withLock { $0.values.compactMap { $0 } } }

    var currentDate: Date { now() }

    func wait(for name: LockName, since: ContinuousClock.Instant?, timeout: Duration) async throws(LockheedError) {
        try await notifier.wait(for: name, since: since, timeout: timeout)
    }

    // MARK: Fault injection for tests (`@_spi(Testing) import LockheedMemory`)

    /// Makes every lease of `name` expire now, as if its holders had stopped renewing.
    @_spi(Testing) public func expireLeases(of name: LockName) {
        let date = now()
        _ = try? modify(name) { state, _ in
            guard var current = state else { return }
            for index in current.leases.indices { current.leases[index].expiresAt = date.addingTimeInterval(-0.001) }
            state = current
        }
    }

    /// Deletes the stored state of `name` entirely, fencing counter included.
    @_spi(Testing) public func deleteLock(_ name: LockName) {
        _ = try? modify(name) { state, _ in state = nil }
    }

    /// Replaces the stored state of `name`, as an out-of-band writer would.
    @_spi(Testing) public func replaceState(of name: LockName, with newState: LockState?) {
        _ = try? modify(name) { state, _ in state = newState }
    }

    /// The raw stored state of `name`, expired leases included.
    @_spi(Testing) public func rawState(of name: LockName) -> LockState? {
        locks.withLock { $0[name] ?? nil }
    }
}

/// Who holds a lock, as far as a waiter can tell: the number of leases and the tokens of the
/// first and last (leases only ever join at the end with a higher token). A renewal or a tag
/// change leaves it as it is; a release, break, takeover or dropped expired lease changes it.
@usableFromInline
struct Occupants: Equatable {
    @usableFromInline let count: Int
    @usableFromInline let first: UInt64?
    @usableFromInline let last: UInt64?

    /// The occupants of `state`, read in place (`inout` only so nothing is copied).
    @inlinable
    init(of state: inout LockState?) {
        count = state?.leases.count ?? 0
        first = state?.leases.first?.fencingToken
        last = state?.leases.last?.fencingToken
    }
}

/// A settable clock for ``MemoryLockStore``: tests move time forward instead of sleeping.
public final class ManualTime: Sendable {
    private let current: Mutex<Date>

    /// Starts at `start`.
    public init(start: Date = Date(timeIntervalSince1970: 1_700_000_000)) { current = Mutex(start) }

    /// The current time.
    public var now: Date { current.withLock { $0 } }

    /// Moves time forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.timeInterval) }
    }
}
