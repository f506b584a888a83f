/// A lock store: the one protocol every backend implements.
///
/// Each operation is atomic in the backend and follows the rules of ``LockState/acquire(_:now:)``,
/// ``LockState/renew(holder:duration:now:)`` and ``LockState/release(holder:)``. Programs rarely
/// call a locker directly: they hold a ``Lock``, which adds renewal, retry, events and loss
/// detection on top.
public protocol Locker: Sendable {
    /// A short backend name for logs and metrics, e.g. `"sqlite"`.
    var backendName: String { get }

    /// What this backend supports.
    var capabilities: LockerCapabilities { get }

    /// Grants or refreshes `request.holder`'s lease; throws ``LockheedError/held(_:holders:)``
    /// with the current holders when refused.
    func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease

    /// Extends `holder`'s lease by `duration` from now (`nil`: no expiry); throws
    /// ``LockheedError/lost(_:holder:)`` when the lease is gone or expired.
    func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease

    /// Removes `holder`'s lease only; returns whether it had one. Idempotent.
    func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool

    /// Removes every lease of `name` when `condition` is `nil` or matches; returns the active
    /// leases removed. An administrator's tool: the fencing counter is kept.
    func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease]

    /// The state of one lock with expired leases left out, or `nil` if it was never stored.
    func state(of name: LockName) async throws(LockheedError) -> LockState?

    /// Every lock this locker can see, with expired leases left out, filtered by `condition`.
    func list(matching condition: Condition?) async throws(LockheedError) -> [LockState]

    /// Returns when `name` may have changed after `since` (a release, an expiry, a takeover),
    /// at once if it already did, or after `timeout`, whichever comes first. Throws
    /// ``LockheedError/cancelled`` on cancellation.
    ///
    /// `since` is when the caller's refused attempt began, so a release that lands between the
    /// refusal and the wait is not missed. Backends that cannot observe changes use the
    /// default, which just sleeps.
    func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)

    /// Closes connections and stops background work. Call once when done with the locker;
    /// leases are left as they are (release them first).
    func shutdown() async
}

extension Locker {
    /// Sleeps for `timeout`: the polling fallback for backends without change notification.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await sleepCancellable(for: timeout)
    }

    /// Returns when `name` changes from now on, or after `timeout`.
    public func waitForChange(of name: LockName, timeout: Duration) async throws(LockheedError) {
        try await waitForChange(of: name, since: .now, timeout: timeout)
    }

    /// Nothing to close by default.
    public func shutdown() async {}

    /// Lists every lock.
    public func list() async throws(LockheedError) -> [LockState] { try await list(matching: nil) }
}

/// Features a backend may lack.
public struct LockerCapabilities: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: Int
    /// Creates a set from raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Shared locks (several holders up to a limit).
    public static let sharedLocks = LockerCapabilities(rawValue: 1 << 0)
    /// ``Locker/waitForChange(of:since:timeout:)`` returns early when the lock changes.
    public static let changeNotification = LockerCapabilities(rawValue: 1 << 1)
    /// Changes made by other processes or machines are visible (not a single-process store).
    public static let crossProcess = LockerCapabilities(rawValue: 1 << 2)
}

/// Sleeps for `duration`, mapping cancellation to ``LockheedError/cancelled``.
public func sleepCancellable(for duration: Duration) async throws(LockheedError) {
    do { try await Task.sleep(for: duration) } catch { throw .cancelled }
}
