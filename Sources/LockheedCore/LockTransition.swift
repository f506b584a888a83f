import Foundation

/// One step of the locking algorithm on a lock's whole stored state, which a
/// ``LockStateStore`` applies atomically: the four operations of ``StateStoreLocker``.
///
/// Transitions are values rather than closures, so handing one to a store allocates nothing
/// (a closure capturing its request would need a heap context on every call).
///
/// Contract: ``apply(to:now:)`` has no effect but on the state it is given, since a store may
/// apply it more than once when it retries after a conflict.
public protocol LockTransition: Sendable {
    /// What the step returns.
    associatedtype Outcome: Sendable

    /// Applies the step to `state` (`nil`: never stored; set it to `nil` to delete it) at the
    /// store's time `now`.
    func apply(to state: inout LockState?, now: Date) throws(LockheedError) -> Outcome
}

/// The transitions of ``StateStoreLocker``, one per ``Locker`` operation that writes.
///
/// Each takes the stored state out and puts it back, so the lease array is not shared while it
/// is changed (a shared one would be copied).
public enum LockTransitions {
    /// Grants or refreshes a lease (``LockState/acquire(_:now:)``). A refused acquire puts back
    /// what it read, with expired leases dropped; stores that write only after success ignore that.
    public struct Acquire: LockTransition {
        /// The request.
        public let request: AcquireRequest

        /// A grant of `request`.
        @inlinable public init(_ request: AcquireRequest) { self.request = request }

        /// The lease granted or refreshed.
        @inlinable
        public func apply(to state: inout LockState?, now: Date) throws(LockheedError) -> Lease {
            var current = state.take() ?? LockState(name: request.name)
            defer { state = current }
            return try current.acquire(request, now: now)
        }
    }

    /// Extends the holder's lease (``LockState/renew(holder:duration:now:)``); never re-acquires.
    public struct Renew: LockTransition {
        /// The lock.
        public let name: LockName
        /// Whose lease.
        public let holder: String
        /// The new lease duration from now; `nil`: no expiry.
        public let duration: Duration?

        /// A renewal of `holder`'s lease on `name`.
        @inlinable
        public init(_ name: LockName, holder: String, duration: Duration?) {
            (self.name, self.holder, self.duration) = (name, holder, duration)
        }

        /// The renewed lease; throws ``LockheedError/lost(_:holder:)`` when there is none.
        @inlinable
        public func apply(to state: inout LockState?, now: Date) throws(LockheedError) -> Lease {
            guard var current = state.take() else { throw .lost(name, holder: holder) }
            defer { state = current }
            return try current.renew(holder: holder, duration: duration, now: now)
        }
    }

    /// Removes the holder's lease only (``LockState/release(holder:)``).
    public struct Release: LockTransition {
        /// Whose lease.
        public let holder: String

        /// A release of `holder`'s lease.
        @inlinable public init(holder: String) { self.holder = holder }

        /// Whether a lease was removed.
        @inlinable
        public func apply(to state: inout LockState?, now: Date) -> Bool {
            guard var current = state.take() else { return false }
            defer { state = current }
            return current.release(holder: holder) != nil
        }
    }

    /// Removes every lease when `condition` matches (``LockState/breakLeases(if:now:)``).
    public struct Break: LockTransition {
        /// The condition; `nil`: unconditional.
        public let condition: Condition?

        /// A break of every lease when `condition` is `nil` or matches.
        @inlinable public init(if condition: Condition?) { self.condition = condition }

        /// The active leases removed.
        @inlinable
        public func apply(to state: inout LockState?, now: Date) -> [Lease] {
            guard var current = state.take() else { return [] }
            defer { state = current }
            return current.breakLeases(if: condition, now: now)
        }
    }
}
