import Foundation

/// The `metadata` of a Kubernetes object: the fields we read or write, and every other field
/// (uid, owner references, managed fields…) kept to be written back unchanged.
struct ObjectMeta: Codable, Sendable, Hashable {
    var name: String?
    var namespace: String?
    var resourceVersion: String?
    var labels: [String: String]?
    var annotations: [String: String]?
    /// Fields we do not model.
    var other: [String: JSONValue] = [:]

    init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
    }

    private static let known: Set<String> = ["name", "namespace", "resourceVersion", "labels", "annotations"]

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        name = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("name"))
        namespace = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("namespace"))
        resourceVersion = try container.decodeIfPresent(String.self, forKey: AnyCodingKey("resourceVersion"))
        labels = try container.decodeIfPresent([String: String].self, forKey: AnyCodingKey("labels"))
        annotations = try container.decodeIfPresent([String: String].self, forKey: AnyCodingKey("annotations"))
        other = try container.unknownFields(besides: Self.known)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encodeUnknown(other)
        try container.encodeIfPresent(name, forKey: "name")
        try container.encodeIfPresent(namespace, forKey: "namespace")
        try container.encodeIfPresent(resourceVersion, forKey: "resourceVersion")
        try container.encodeIfPresent(labels, forKey: "labels")
        try container.encodeIfPresent(annotations, forKey: "annotations")
    }

    /// `metadata.resourceVersion` as a number: the etcd revision of the object's last write.
    var revision: UInt64? { resourceVersion.flatMap { UInt64($0) } }

    /// Sets (or, with `nil`, removes) one annotation, keeping the others.
    mutating func setAnnotation(_ key: String, to value: String?) {
        var all = annotations ?? [:]
        all[key] = value
        annotations = all.isEmpty ? nil : all
    }

    /// Sets one label, keeping the others.
    mutating func setLabel(_ key: String, to value: String) {
        var all = labels ?? [:]
        all[key] = value
        labels = all
    }
}
