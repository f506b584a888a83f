import Foundation
import LockheedCore

/// One lock's Kubernetes object, as a storage kind keeps it: the narrow seam under the one
/// locking algorithm of ``KubernetesLocker`` (read the record, write a record back under the
/// object's resourceVersion), as client-go's `resourcelock.Interface` is under leader election.
protocol LockObject: Sendable {
    /// The object's metadata (name, resourceVersion, labels, annotations, and the rest kept).
    var metadata: ObjectMeta { get set }

    /// The lock record the object holds, with what other writers stripped restored from our
    /// annotations; `nil` when the object holds no record.
    func lockRecord(name: LockName) throws(LockheedError) -> LockRecord?

    /// Stores `record`, written at `now`, keeping every field of the object we do not own.
    mutating func setLock(_ record: LockRecord, lockName: LockName, now: Date)

    /// A reservation by another client that makes the lock busy, if one stands at `now`.
    func activeReservation(at now: Date) -> LockReservation?

    /// The fencing counter in our annotation, if present and numeric.
    var annotatedCounter: UInt64? { get }

    /// The lowest counter a grant may continue from when every copy of the counter is gone:
    /// the object's etcd revision, and whatever else the kind knows only moves forward.
    var counterFloor: UInt64 { get }

    /// The JSON body for a POST or PUT.
    func json() -> Data
}

/// A storage kind: the Kubernetes resource holding each lock (ConfigMaps or Leases) and how its
/// objects are read and made.
struct LockStorage: Sendable {
    /// The resource's plural name, e.g. `"configmaps"`, as RBAC and URLs name it.
    var resource: String
    /// The API group path, e.g. `"/api/v1"`.
    var groupPath: String
    /// Whether a lock in this kind can hold more than one lease.
    var holdsSharedLocks: Bool
    /// Decodes one object from JSON.
    var decode: @Sendable (Data) -> (any LockObject)?
    /// A new object `name` in `namespace` for lock `lockName`.
    var make: @Sendable (_ name: String, _ namespace: String, _ lockName: LockName) -> any LockObject
    /// Decodes a list body: its items and `metadata` (`continue`, `resourceVersion`).
    var decodeList: @Sendable (Data) -> (items: [any LockObject], metadata: ListMeta)?

    /// One ConfigMap per lock, `data["lock"]` in the Go original's format.
    static let configMaps = LockStorage(
        resource: "configmaps", groupPath: "/api/v1", holdsSharedLocks: true,
        decode: { ConfigMapObject(json: $0) },
        make: { ConfigMapObject(name: $0, namespace: $1, lockName: $2) },
        decodeList: { data in
            KubernetesJSON.decode(ObjectList<ConfigMapObject>.self, from: data).map { ($0.items ?? [], $0.metadata) }
        })

    /// One `coordination.k8s.io/v1` Lease per lock, as client-go's `LeaseLock` writes it.
    static let leases = LockStorage(
        resource: "leases", groupPath: "/apis/coordination.k8s.io/v1", holdsSharedLocks: false,
        decode: { LeaseObject(json: $0) },
        make: { LeaseObject(name: $0, namespace: $1, lockName: $2) },
        decodeList: { data in
            KubernetesJSON.decode(ObjectList<LeaseObject>.self, from: data).map { ($0.items ?? [], $0.metadata) }
        })
}

/// The `metadata` of a list.
struct ListMeta: Codable, Sendable, Hashable {
    var resourceVersion: String?
    var `continue`: String?
}

/// A list body (`ConfigMapList`, `LeaseList`).
struct ObjectList<Item: Codable & Sendable>: Codable, Sendable {
    var metadata: ListMeta
    var items: [Item]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        metadata = try container.decodeIfPresent(ListMeta.self, forKey: AnyCodingKey("metadata")) ?? ListMeta()
        items = try container.decodeIfPresent([Item].self, forKey: AnyCodingKey("items"))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(metadata, forKey: AnyCodingKey("metadata"))
        try container.encodeIfPresent(items, forKey: "items")
    }
}

/// One line of a watch stream.
struct WatchEvent: Decodable, Sendable {
    var type: String
    var object: JSONValue

    /// `object.metadata.resourceVersion`, or empty.
    var resourceVersion: String {
        guard case .object(let fields) = object, case .object(let metadata)? = fields["metadata"],
            case .string(let version)? = metadata["resourceVersion"]
        else { return "" }
        return version
    }

    /// `object.code` of an ERROR event (a Status).
    var code: Int64? {
        guard case .object(let fields) = object, case .integer(let code)? = fields["code"] else { return nil }
        return code
    }
}

extension ConfigMapObject: LockObject {
    mutating func setLock(_ record: LockRecord, lockName: LockName, now: Date) {
        setLock(record, lockName: lockName)
    }

    var counterFloor: UInt64 { metadata.revision ?? 0 }
}
