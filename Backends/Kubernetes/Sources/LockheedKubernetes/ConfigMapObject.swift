import Foundation
import LockheedCore

/// A ConfigMap as the API serves it: the fields we use typed, every other field (owner
/// references, `binaryData`, other tools' keys) kept to be written back unchanged.
struct ConfigMapObject: Codable, Sendable, Hashable {
    var apiVersion: String?
    var kind: String?
    var metadata: ObjectMeta
    /// The string data; `data["lock"]` holds our record, other keys are kept.
    var data: [String: String]?
    /// Top-level fields we do not model.
    var other: [String: JSONValue] = [:]

    /// Label key the Go original and we put on every lock ConfigMap; its value is the lock name.
    static let lockLabel = "lockheed/lock"
    /// The Go original's reservation annotations.
    static let reservedBy = "reserved/by"
    static let reservedExpires = "reserved/expires"
    /// The longest label value Kubernetes accepts.
    static let maximumLabelValueLength = 63

    /// Parses an object from an API response body; `nil` when it is not a ConfigMap's JSON.
    init?(json: Data) {
        guard let object = KubernetesJSON.decode(Self.self, from: json) else { return nil }
        self = object
    }

    /// A new lock ConfigMap.
    init(name: String, namespace: String, lockName: LockName) {
        apiVersion = "v1"
        kind = "ConfigMap"
        metadata = ObjectMeta(name: name, namespace: namespace, labels: [Self.lockLabel: lockName.rawValue])
        data = [:]
    }

    private static let known: Set<String> = ["apiVersion", "kind", "metadata", "data"]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        apiVersion = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("apiVersion"))
        kind = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("kind"))
        metadata = try container.decodeIfPresent(ObjectMeta.self, forKey: AnyCodingKey("metadata")) ?? ObjectMeta()
        data = try container.decodeIfPresent([String: String].self, forKey: AnyCodingKey("data"))
        other = try container.unknownFields(besides: Self.known)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeUnknown(other)
        try container.encodeIfPresent(apiVersion, forKey: "apiVersion")
        try container.encodeIfPresent(kind, forKey: "kind")
        try container.encode(metadata, forKey: AnyCodingKey("metadata"))
        try container.encodeIfPresent(data, forKey: "data")
    }

    var name: String? { metadata.name }
    var resourceVersion: String? { metadata.resourceVersion }
    var labels: [String: String] { metadata.labels ?? [:] }
    var annotations: [String: String] { metadata.annotations ?? [:] }

    /// `data["lock"]`, or `nil` when the ConfigMap has none.
    var lockText: String? { data?["lock"] }

    /// Replaces `data["lock"]`, stores our extras in the annotations and makes sure the lock
    /// label is set: to the name when it fits a label value (63 characters), else to the empty
    /// value the Go original writes.
    mutating func setLock(_ record: LockRecord, lockName: LockName) {
        var entries = data ?? [:]
        entries["lock"] = record.encoded()
        data = entries
        metadata.setLabel(Self.lockLabel, to: Self.labelValue(for: lockName))
        setAnnotations(for: record)
    }

    /// The lock label's value for `lockName`: the name, or empty when it is too long for a label.
    static func labelValue(for lockName: LockName) -> String {
        lockName.rawValue.utf8.count <= maximumLabelValueLength ? lockName.rawValue : ""
    }

    /// Sets (or, with `nil`, removes) one annotation, keeping the others.
    mutating func setAnnotation(_ key: String, to value: String?) {
        metadata.setAnnotation(key, to: value)
    }

    /// The JSON body for a POST or PUT.
    func json() -> Data { KubernetesJSON.encode(self) }

    /// The Go original's reservation, when `reserved/by` is set and `reserved/expires` is after `now`.
    func activeReservation(at now: Date) -> LockReservation? {
        guard let holder = annotations[Self.reservedBy], !holder.isEmpty,
            let until = annotations[Self.reservedExpires].flatMap(RFC3339.parse), until > now
        else { return nil }
        return LockReservation(holder: holder, until: until)
    }
}
