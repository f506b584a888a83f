import Foundation
import LockheedCore

/// A `coordination.k8s.io/v1` Lease as the API serves it, every field we do not model kept.
struct LeaseObject: Codable, Sendable, Hashable {
    /// `spec`: the five fields client-go's `LeaseLock` reads and writes, and the rest kept.
    struct Spec: Codable, Sendable, Hashable {
        var holderIdentity: String?
        var leaseDurationSeconds: Int32?
        /// MicroTime: RFC 3339 in UTC with exactly six fractional digits.
        var acquireTime: String?
        var renewTime: String?
        var leaseTransitions: Int32?
        var other: [String: JSONValue] = [:]

        init() {}

        private static let known: Set<String> = [
            "holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions",
        ]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyCodingKey.self)
            holderIdentity = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("holderIdentity"))
            leaseDurationSeconds = try container.decodeIfPresent(
                Int32.self, forKey: AnyCodingKey("leaseDurationSeconds"))
            acquireTime = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("acquireTime"))
            renewTime = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("renewTime"))
            leaseTransitions = try container.decodeIfPresent(Int32.self, forKey: AnyCodingKey("leaseTransitions"))
            other = try container.unknownFields(besides: Self.known)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: AnyCodingKey.self)
            try container.encodeUnknown(other)
            try container.encodeIfPresent(holderIdentity, forKey: "holderIdentity")
            try container.encodeIfPresent(leaseDurationSeconds, forKey: "leaseDurationSeconds")
            try container.encodeIfPresent(acquireTime, forKey: "acquireTime")
            try container.encodeIfPresent(renewTime, forKey: "renewTime")
            try container.encodeIfPresent(leaseTransitions, forKey: "leaseTransitions")
        }
    }

    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta
    var spec: Spec?
    var other: [String: JSONValue] = [:]

    /// Our tags, as a JSON array of strings (a Lease has no place client-go reads for them).
    static let tagsAnnotation = "lockheed.io/tags"
    /// The duration read for a Lease that states none: client-go's usual `LeaseDuration`.
    static let defaultDurationSeconds: Int32 = 15
    /// The `leaseDurationSeconds` written for a lease without expiry (client-go ignores the field).
    static let infiniteDurationSeconds = Int32.max

    /// Parses an object from an API response body; `nil` when it is not a Lease's JSON.
    init?(json: Data) {
        guard let object = KubernetesJSON.decode(Self.self, from: json) else { return nil }
        self = object
    }

    /// A new lock Lease (no spec until a record is set).
    init(name: String, namespace: String, lockName: LockName) {
        apiVersion = "coordination.k8s.io/v1"
        kind = "Lease"
        metadata = ObjectMeta(
            name: name, namespace: namespace,
            labels: [ConfigMapObject.lockLabel: ConfigMapObject.labelValue(for: lockName)])
    }

    private static let known: Set<String> = ["apiVersion", "kind", "metadata", "spec"]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("apiVersion"))
        kind = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("kind"))
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: AnyCodingKey("metadata")) ?? ObjectMeta()
        spec = try container.decodeIfPresent(Spec.self, forKey: AnyCodingKey("spec"))
        other = try container.unknownFields(besides: Self.known)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeUnknown(other)
        try container.encodeIfPresent(apiVersion, forKey: "apiVersion")
        try container.encodeIfPresent(kind, forKey: "kind")
        try container.encode(metadata, forKey: AnyCodingKey("metadata"))
        try container.encodeIfPresent(spec, forKey: "spec")
    }

    private var annotations: [String: String] { metadata.annotations ?? [:] }
}

extension LeaseObject: LockObject {
    var annotatedCounter: UInt64? {
        annotations[ConfigMapObject.fencingCounterAnnotation].flatMap { UInt64($0) }
    }

    /// The revision, or the transitions count if higher: every token we issue is above both.
    var counterFloor: UInt64 {
        max(metadata.revision ?? 0, UInt64(max(0, spec?.leaseTransitions ?? 0)))
    }

    /// A Lease has no reservation: client-go reserves nothing.
    func activeReservation(at now: Date) -> LockReservation? { nil }

    func json() -> Data { KubernetesJSON.encode(self) }

    /// The record of the Lease (`.malformedState` when our counter annotation is not a number,
    /// the one part of a Lease we cannot read around): no lease when `holderIdentity` is empty, else one lease of that
    /// holder. A lease we wrote (our extras name that holder and this very `renewTime`) gets its
    /// exact expiry, token, grant time and clock back; any other (client-go's) expires
    /// `leaseDurationSeconds` after `renewTime` by its text and is judged by observation (no
    /// clock of ours). The counter is at least `leaseTransitions`.
    func lockRecord(name: LockName) throws(LockheedError) -> LockRecord? {
        let extras = annotations[ConfigMapObject.extrasAnnotation].flatMap {
            KubernetesJSON.decode(RecordExtras.self, from: Data($0.utf8))
        }
        let tags = annotations[Self.tagsAnnotation].flatMap {
            KubernetesJSON.decode([String].self, from: Data($0.utf8))
        }
        if let text = annotations[ConfigMapObject.fencingCounterAnnotation], UInt64(text) == nil {
            throw .malformedState(
                name,
                detail:
                    "the annotation \(ConfigMapObject.fencingCounterAnnotation) is not a number: \"\(text.prefix(40))\""
            )
        }
        let transitions = UInt64(max(0, spec?.leaseTransitions ?? 0))
        var record = LockRecord(
            name: name.rawValue, lockType: "mutex", leases: [:], tags: tags?.isEmpty == false ? tags : nil,
            fencingCounter: annotatedCounter.map { max($0, transitions) })
        guard let spec, let holder = spec.holderIdentity, !holder.isEmpty else { return record }
        if let kept = extras?.leases[holder], let renewTime = spec.renewTime, let keptRenewal = kept.renewTime,
            ConfigMapObject.sameInstant(keptRenewal, renewTime)
        {
            record.leases[holder] = LockRecord.LeaseRecord(
                instanceID: holder, expires: kept.expires, acquired: kept.acquired, fencingToken: kept.fencingToken,
                durationMs: kept.durationMs, clock: kept.clock)
            return record
        }
        let seconds = spec.leaseDurationSeconds.map { max(1, $0) } ?? Self.defaultDurationSeconds
        let renewed = (spec.renewTime ?? spec.acquireTime).flatMap(RFC3339.parse) ?? Date(timeIntervalSince1970: 0)
        record.leases[holder] = LockRecord.LeaseRecord(
            instanceID: holder, expires: RFC3339.format(renewed.addingTimeInterval(TimeInterval(seconds))),
            acquired: spec.acquireTime.flatMap(RFC3339.parse).map(RFC3339.format), fencingToken: nil,
            durationMs: Int64(seconds) * 1000, clock: nil)
        return record
    }

    /// Writes `record` as client-go's `LeaseLock` would: all five spec fields, MicroTimes of
    /// `now`. A new holder counts a transition (not on the Lease's first write) and takes
    /// `acquireTime`; the same holder keeps it. No holder is client-go's release: empty
    /// `holderIdentity`, duration 1 s, both times `now`, transitions unchanged. A lease copied
    /// unchanged from the stored record leaves the spec as it is.
    mutating func setLock(_ record: LockRecord, lockName: LockName, now: Date) {
        metadata.setLabel(ConfigMapObject.lockLabel, to: ConfigMapObject.labelValue(for: lockName))
        let stamp = RFC3339.format(now)
        let previous = spec
        var next = previous ?? Spec()
        let previousHolder = previous?.holderIdentity ?? ""
        var extras = RecordExtras(leases: [:])
        if let lease = record.leases.values.first {
            let unchanged = (try? lockRecord(name: lockName))?.leases[lease.instanceID] == lease
            if !unchanged {
                if previous == nil {
                    next.leaseTransitions = 0
                    next.acquireTime = stamp
                } else if previousHolder != lease.instanceID {
                    let transitions = previous?.leaseTransitions ?? 0
                    next.leaseTransitions = transitions == .max ? transitions : transitions + 1
                    next.acquireTime = stamp
                } else {
                    next.leaseTransitions = previous?.leaseTransitions ?? 0
                    next.acquireTime = previous?.acquireTime ?? stamp
                }
                next.holderIdentity = lease.instanceID
                next.renewTime = stamp
                next.leaseDurationSeconds = Self.durationSeconds(of: lease)
            }
            if lease.fencingToken != nil || lease.clock != nil {
                extras.leases[lease.instanceID] = RecordExtras.LeaseExtras(
                    expires: lease.expires, acquired: lease.acquired, fencingToken: lease.fencingToken,
                    durationMs: lease.durationMs, clock: lease.clock, renewTime: next.renewTime)
            }
        } else if previous == nil || !previousHolder.isEmpty {
            next.holderIdentity = ""
            next.leaseDurationSeconds = 1
            next.acquireTime = stamp
            next.renewTime = stamp
            next.leaseTransitions = previous?.leaseTransitions ?? 0
        }
        spec = next
        metadata.setAnnotation(ConfigMapObject.fencingCounterAnnotation, to: record.fencingCounter.map { String($0) })
        metadata.setAnnotation(
            ConfigMapObject.extrasAnnotation,
            to: extras.leases.isEmpty ? nil : String(decoding: KubernetesJSON.encode(extras), as: UTF8.self))
        metadata.setAnnotation(
            Self.tagsAnnotation,
            to: (record.tags ?? []).isEmpty
                ? nil : String(decoding: KubernetesJSON.encode(record.tags ?? []), as: UTF8.self))
    }

    /// Whole seconds, rounded up and at least 1 (the API server's minimum); a lease without
    /// expiry writes ``infiniteDurationSeconds``.
    static func durationSeconds(of lease: LockRecord.LeaseRecord) -> Int32 {
        guard let milliseconds = lease.durationMs else { return infiniteDurationSeconds }
        let seconds = (milliseconds + 999) / 1000
        return Int32(clamping: max(1, seconds))
    }
}
