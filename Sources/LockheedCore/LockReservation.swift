import Foundation

/// A claim on a lock that is not a lease: another client announced that it is about to take the
/// lock, and others keep off until `until`.
///
/// The Go original writes one (`reserved/by` and `reserved/expires` annotations on Kubernetes)
/// before each of its writes, and its loser of a forced takeover keeps re-setting it. It has no
/// fencing token and is never a grant: backends that see one refuse other holders' acquires with
/// ``LockheedError/held(_:holders:)`` until it ends, and report it here in ``LockState/reservation``.
public struct LockReservation: Sendable, Hashable, Codable {
    /// Who reserved the lock.
    public var holder: String
    /// When the reservation ends, by the writer's clock.
    public var until: Date

    /// Creates a reservation.
    public init(holder: String, until: Date) {
        self.holder = holder
        self.until = until
    }

    /// Whether the reservation still stands at `now`.
    public func isActive(at now: Date) -> Bool { until > now }

    /// `reserved by HOLDER until <time>`, for messages.
    public var summary: String { "reserved by \(holder) until \(until.formatted(.iso8601))" }

    /// The reservation as it stands in the holders of a ``LockheedError/held(_:holders:)``
    /// refusal: fencing token 0 (it was never granted) and `acquiredAt` equal to `expiresAt`,
    /// which no granted lease has. ``init(representedBy:)`` recognises it.
    public var asRefusingLease: Lease { Lease(holder: holder, acquiredAt: until, expiresAt: until, fencingToken: 0) }

    /// The reservation that `lease` stands for in a refusal, or `nil` for a real lease.
    public init?(representedBy lease: Lease) {
        guard lease.fencingToken == 0, let expiresAt = lease.expiresAt, lease.acquiredAt == expiresAt else {
            return nil
        }
        self.init(holder: lease.holder, until: expiresAt)
    }
}
