import Foundation
import LockheedCore

/// Our additive record fields, kept a second time in annotations.
///
/// The Go original decodes `data["lock"]` into its own struct and writes it back, so every field
/// it does not know (`fencingCounter`, the per-lease `acquired`, `fencingToken`, `durationMs`,
/// `clock`, and `maxLeases`) is dropped by any Go write. Its `Update` keeps
/// `metadata.annotations`, so each of our writes also stores them there, and a reader restores
/// what a Go write stripped.
struct RecordExtras: Codable, Sendable, Hashable {
    /// What we wrote for one lease, with the `expires` it was written with: the extras are
    /// restored only to a lease with that same expiry (the very lease we wrote, not a later one
    /// of a holder with the same id).
    struct LeaseExtras: Codable, Sendable, Hashable {
        var expires: String
        var acquired: String?
        var fencingToken: UInt64?
        var durationMs: Int64?
        var clock: String?
        /// The Lease's `spec.renewTime` this lease was written with (Lease storage only): the
        /// extras belong to the spec only while it still carries that renewal.
        var renewTime: String? = nil
    }

    /// A shared lock's holder limit.
    var maxLeases: Int? = nil
    /// Per holder id.
    var leases: [String: LeaseExtras]
}

extension ConfigMapObject {
    /// The last fencing token granted, as a decimal string.
    static let fencingCounterAnnotation = "lockheed.io/fencing-counter"
    /// ``RecordExtras`` as JSON.
    static let extrasAnnotation = "lockheed.io/extras"

    /// The counter in the annotation, if present and numeric.
    var annotatedCounter: UInt64? { annotations[Self.fencingCounterAnnotation].flatMap { UInt64($0) } }

    /// The extras in the annotation, if present and readable.
    var annotatedExtras: RecordExtras? {
        annotations[Self.extrasAnnotation].flatMap { try? JSONDecoder().decode(RecordExtras.self, from: Data($0.utf8)) }
    }

    /// `metadata.resourceVersion` as a number: the etcd revision of the object's last write.
    var revision: UInt64? { resourceVersion.flatMap { UInt64($0) } }

    /// The lock record with what a Go write stripped restored from the annotations; its
    /// `fencingCounter` is the maximum of the record's and the annotation's, `nil` when neither has
    /// one. `nil` when the ConfigMap has no `data["lock"]`.
    func lockRecord(name: LockName) throws(LockheedError) -> LockRecord? {
        guard let text = lockText else { return nil }
        let extras = annotatedExtras
        var record = try LockRecord.decode(text, name: name, maxLeasesIfMissing: extras?.maxLeases)
        for (holder, lease) in record.leases where lease.fencingToken == nil {
            guard let kept = extras?.leases[holder], Self.sameInstant(kept.expires, lease.expires) else { continue }
            record.leases[holder]?.acquired = lease.acquired ?? kept.acquired
            record.leases[holder]?.fencingToken = kept.fencingToken
            record.leases[holder]?.durationMs = lease.durationMs ?? kept.durationMs
            record.leases[holder]?.clock = lease.clock ?? kept.clock
        }
        let counters = [record.fencingCounter, annotatedCounter].compactMap { $0 }
        record.fencingCounter = counters.max()
        return record
    }

    /// Stores `record`'s counter and extras in the annotations, next to `data["lock"]`.
    mutating func setAnnotations(for record: LockRecord) {
        var extras = RecordExtras(maxLeases: record.maxLeases, leases: [:])
        for (holder, lease) in record.leases where lease.fencingToken != nil {
            extras.leases[holder] = RecordExtras.LeaseExtras(
                expires: lease.expires, acquired: lease.acquired, fencingToken: lease.fencingToken,
                durationMs: lease.durationMs, clock: lease.clock)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let extrasText = (try? encoder.encode(extras)).map { String(decoding: $0, as: UTF8.self) }
        setAnnotation(Self.fencingCounterAnnotation, to: record.fencingCounter.map { String($0) })
        setAnnotation(Self.extrasAnnotation, to: extrasText)
    }

    /// Two RFC 3339 texts naming the same instant (to the microsecond): Go re-encodes a time it
    /// read in its own format, so the text may differ while the instant does not.
    static func sameInstant(_ a: String, _ b: String) -> Bool {
        if a == b { return true }
        guard let x = RFC3339.parse(a), let y = RFC3339.parse(b) else { return false }
        return abs(x.timeIntervalSince(y)) < 0.000_002
    }
}
