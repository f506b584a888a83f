import Foundation
import LockheedCore
import Synchronization

/// Judges when leases expire despite clock skew between pods.
///
/// The rule, per lease of a record read at wall time `now` and monotonic instant `t`:
/// - An `expires` in year 9999 never expires.
/// - A lease stamped with our ``KubernetesConfiguration/clockIdentity`` (written by a process on
///   this host, so by this very wall clock) expires at its stored `expires`.
/// - A lease without a `durationMs` (the Go original writes none) expires at its stored
///   `expires`: that is the Go client's own rule, so sharing locks with Go is as safe as Go.
/// - Any other lease (another host's clock) follows client-go leader election: it expires once
///   this locker has observed it unchanged (same `expires` text) for its full `durationMs` on
///   its own `ContinuousClock`, whatever the remote wall clock says. Its effective expiry is
///   `now + durationMs − (t − firstSeen)`; a renewal changes `expires` and restarts the count.
///
/// Tolerates any constant skew between hosts; not a skew *rate* (clocks running at different
/// speeds), nor a first observation made long after the holder died (then it waits one more
/// full duration, as client-go does).
final class LeaseExpiry: Sendable {
    private struct Observation {
        var expires: String
        var firstSeen: ContinuousClock.Instant
    }

    private let clockIdentity: String
    private let observations = Mutex<[LockName: [String: Observation]]>([:])

    init(clockIdentity: String) { self.clockIdentity = clockIdentity }

    /// The state of `record` with every lease's `expiresAt` turned into this host's wall time by
    /// the rule above, recording first observations at `instant`.
    func state(of record: LockRecord, name: LockName, now: Date, instant: ContinuousClock.Instant) -> LockState {
        var leases: [Lease] = []
        observations.withLock { all in
            var seen: [String: Observation] = [:]
            let previous = all[name] ?? [:]
            for (holder, stored) in record.leases {
                let expiresAt = RFC3339.parse(stored.expires) ?? now
                var observation = previous[holder] ?? Observation(expires: stored.expires, firstSeen: instant)
                if observation.expires != stored.expires {
                    observation = Observation(expires: stored.expires, firstSeen: instant)
                }
                seen[holder] = observation
                let effective: Date?
                if RFC3339.isInfinite(expiresAt) {
                    effective = nil
                } else if stored.clock == clockIdentity || stored.durationMs == nil {
                    effective = expiresAt
                } else {
                    let duration = Duration.milliseconds(stored.durationMs ?? 0)
                    let remaining = duration - (instant - observation.firstSeen)
                    effective = now.addingTimeInterval(remaining.timeInterval)
                }
                // The Go original records no grant time: `.distantPast` says "unknown".
                let acquiredAt = stored.acquired.flatMap(RFC3339.parse) ?? .distantPast
                leases.append(
                    Lease(
                        holder: holder, acquiredAt: acquiredAt, expiresAt: effective,
                        fencingToken: stored.fencingToken ?? 0))
            }
            all[name] = seen.isEmpty ? nil : seen
        }
        leases.sort { ($0.fencingToken, $0.acquiredAt, $0.holder) < ($1.fencingToken, $1.acquiredAt, $1.holder) }
        let type: LockType = record.lockType == "shared" ? .shared(maxHolders: record.maxLeases ?? 1) : .mutex
        let counter = max(record.fencingCounter ?? 0, leases.map(\.fencingToken).max() ?? 0)
        return LockState(name: name, type: type, leases: leases, tags: record.tags ?? [], fencingCounter: counter)
    }

    /// Forgets the observations of `name` (its object was deleted).
    func forget(_ name: LockName) {
        _ = observations.withLock { $0.removeValue(forKey: name) }
    }

    /// The record to store for `state`: leases of `changedHolder` are stamped anew with our clock;
    /// every other lease is copied from `original` exactly as its writer stored it.
    func record(
        for state: LockState, original: LockRecord?, changedHolder: String?, duration: Duration?
    ) -> (LockRecord, Lease?) {
        var leases: [String: LockRecord.LeaseRecord] = [:]
        var stamped: Lease?
        for lease in state.leases {
            if lease.holder == changedHolder || original?.leases[lease.holder] == nil {
                let expires = lease.expiresAt.map(RFC3339.format) ?? RFC3339.infinite
                let acquired = lease.acquiredAt == .distantPast ? nil : RFC3339.format(lease.acquiredAt)
                leases[lease.holder] = LockRecord.LeaseRecord(
                    instanceID: lease.holder, expires: expires, acquired: acquired,
                    fencingToken: lease.fencingToken == 0 ? nil : lease.fencingToken,
                    durationMs: lease.expiresAt == nil ? nil : duration?.wholeMilliseconds, clock: clockIdentity)
                if lease.holder == changedHolder {
                    var exact = lease
                    exact.expiresAt = lease.expiresAt == nil ? nil : RFC3339.parse(expires)
                    exact.acquiredAt = acquired.flatMap(RFC3339.parse) ?? lease.acquiredAt
                    stamped = exact
                }
            } else if let kept = original?.leases[lease.holder] {
                leases[lease.holder] = kept
            }
        }
        // A lock without leases is written as a mutex: the next holder sets the type anyway, and
        // the Go original refuses every lock whose type is not "mutex".
        var maxLeases: Int?
        if case .shared(let limit) = state.type, !leases.isEmpty { maxLeases = limit }
        let record = LockRecord(
            name: state.name.rawValue, lockType: leases.isEmpty ? "mutex" : state.type.kind, leases: leases,
            tags: state.tags.isEmpty ? nil : state.tags, fencingCounter: state.fencingCounter, maxLeases: maxLeases)
        return (record, stamped)
    }
}
