import Foundation
import LockheedCore

/// The lock state as JSON in a ConfigMap's `data["lock"]`, field for field the Go original's
/// `Lock` (`name`, `lockType`, `leases`, `tags`) plus additive fields Go ignores.
struct LockRecord: Codable, Sendable, Hashable {
    /// The lock's name.
    var name: String
    /// `"mutex"` (Go) or `"shared"` (ours, with ``maxLeases``).
    var lockType: String
    /// Leases keyed by instance (holder) id.
    var leases: [String: LeaseRecord]
    /// The lock's tags (Go: `omitempty`).
    var tags: [String]?
    /// The last fencing token granted (ours).
    var fencingCounter: UInt64?
    /// A shared lock's holder limit (ours).
    var maxLeases: Int?

    /// One holder's lease.
    struct LeaseRecord: Codable, Sendable, Hashable {
        /// The holder id (Go: `instanceID`).
        var instanceID: String
        /// RFC 3339 expiry, kept as written so other writers' leases are copied back unchanged.
        var expires: String
        /// RFC 3339 grant time (ours).
        var acquired: String?
        /// The lease's fencing token (ours).
        var fencingToken: UInt64?
        /// The lease duration in milliseconds, for the observation rule (ours; absent = no expiry
        /// or a Go writer).
        var durationMs: Int64?
        /// The writer's ``KubernetesConfiguration/clockIdentity`` (ours).
        var clock: String?
    }

    init(
        name: String, lockType: String, leases: [String: LeaseRecord], tags: [String]? = nil,
        fencingCounter: UInt64? = nil, maxLeases: Int? = nil
    ) {
        self.name = name
        self.lockType = lockType
        self.leases = leases
        self.tags = tags
        self.fencingCounter = fencingCounter
        self.maxLeases = maxLeases
    }

    private enum CodingKeys: String, CodingKey {
        case name, lockType, leases, tags, fencingCounter, maxLeases
    }

    /// Reads a record as the Go original does: `"leases": null` is no lease and an empty
    /// `lockType` is a mutex (Go leaves both after an acquire that failed between its create and
    /// its first update).
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
        let type = try container.decodeIfPresent(String.self, forKey: .lockType) ?? ""
        lockType = type.isEmpty ? "mutex" : type
        guard container.contains(.leases) else {
            throw DecodingError.keyNotFound(
                CodingKeys.leases, .init(codingPath: container.codingPath, debugDescription: "no leases"))
        }
        leases = try container.decodeIfPresent([String: LeaseRecord].self, forKey: .leases) ?? [:]
        tags = try container.decodeIfPresent([String].self, forKey: .tags)
        fencingCounter = try container.decodeIfPresent(UInt64.self, forKey: .fencingCounter)
        maxLeases = try container.decodeIfPresent(Int.self, forKey: .maxLeases)
    }

    /// Decodes `data["lock"]`, naming what is wrong when it cannot; a shared lock without
    /// `maxLeases` (stripped by a Go write) takes `maxLeasesIfMissing`.
    static func decode(_ text: String, name: LockName, maxLeasesIfMissing: Int? = nil) throws(LockheedError)
        -> LockRecord
    {
        var record: LockRecord
        do { record = try JSONDecoder().decode(LockRecord.self, from: Data(text.utf8)) } catch {
            throw .malformedState(name, detail: "data[\"lock\"] is not a lock record: \(Self.describe(error))")
        }
        guard record.lockType == "mutex" || record.lockType == "shared" else {
            throw .malformedState(name, detail: "unknown lockType \"\(record.lockType)\"")
        }
        if record.lockType == "shared", record.maxLeases == nil { record.maxLeases = maxLeasesIfMissing }
        if record.lockType == "shared", (record.maxLeases ?? 0) < 1 {
            throw .malformedState(name, detail: "a shared lock without a valid maxLeases")
        }
        for (key, lease) in record.leases {
            guard RFC3339.parse(lease.expires) != nil else {
                throw .malformedState(name, detail: "lease \"\(key)\" has an invalid expires \"\(lease.expires)\"")
            }
        }
        return record
    }

    /// The JSON text for `data["lock"]`.
    func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing field \"\(key.stringValue)\""
        case DecodingError.typeMismatch(_, let context): "wrong type at \(path(context))"
        case DecodingError.valueNotFound(_, let context): "missing value at \(path(context))"
        case DecodingError.dataCorrupted(let context): "invalid JSON at \(path(context))"
        default: "\(error)"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map(\.stringValue).joined(separator: ".")
        return path.isEmpty ? "the top level" : path
    }
}
