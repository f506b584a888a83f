import Foundation
import LockheedCore

/// A ConfigMap as JSON, edited in place so fields we do not know (owner references, other
/// annotations, managed fields) survive our writes.
/// Not `Sendable`: it lives inside one call; the cache keeps its JSON bytes instead.
struct ConfigMapObject {
    private(set) var fields: [String: Any]

    /// Label key the Go original and we put on every lock ConfigMap; its value is the lock name.
    static let lockLabel = "lockheed/lock"
    /// The Go original's reservation annotations.
    static let reservedBy = "reserved/by"
    static let reservedExpires = "reserved/expires"

    init(fields: [String: Any]) { self.fields = fields }

    /// Parses an object from an API response body.
    init?(json: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { return nil }
        fields = object
    }

    /// A new lock ConfigMap.
    init(name: String, namespace: String, lockName: LockName) {
        fields = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": name, "namespace": namespace, "labels": [Self.lockLabel: lockName.rawValue]],
            "data": [String: Any](),
        ]
    }

    private var metadata: [String: Any] { fields["metadata"] as? [String: Any] ?? [:] }

    var name: String? { metadata["name"] as? String }
    var resourceVersion: String? { metadata["resourceVersion"] as? String }
    var labels: [String: String] { metadata["labels"] as? [String: String] ?? [:] }
    var annotations: [String: String] { metadata["annotations"] as? [String: String] ?? [:] }
    var data: [String: String] { fields["data"] as? [String: String] ?? [:] }

    /// `data["lock"]`, or `nil` when the ConfigMap has none.
    var lockText: String? { data["lock"] }

    /// Replaces `data["lock"]`, stores our extras in the annotations and makes sure the lock
    /// label is set: to the name when it fits a label value (63 characters), else to the empty
    /// value the Go original writes.
    mutating func setLock(_ record: LockRecord, lockName: LockName) {
        var data = fields["data"] as? [String: Any] ?? [:]
        data["lock"] = record.encoded()
        fields["data"] = data
        var metadata = self.metadata
        var labels = metadata["labels"] as? [String: Any] ?? [:]
        labels[Self.lockLabel] = lockName.rawValue.utf8.count <= Self.maximumLabelValueLength ? lockName.rawValue : ""
        metadata["labels"] = labels
        fields["metadata"] = metadata
        setAnnotations(for: record)
    }

    /// The longest label value Kubernetes accepts.
    static let maximumLabelValueLength = 63

    /// Sets (or, with `nil`, removes) one annotation, keeping the others.
    mutating func setAnnotation(_ key: String, to value: String?) {
        var metadata = self.metadata
        var annotations = metadata["annotations"] as? [String: Any] ?? [:]
        annotations[key] = value
        metadata["annotations"] = annotations.isEmpty ? nil : annotations
        fields["metadata"] = metadata
    }

    /// The JSON body for a POST or PUT.
    func json() -> Data {
        (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data()
    }

    /// The Go original's reservation, when `reserved/by` is set and `reserved/expires` is after `now`.
    func activeReservation(at now: Date) -> LockReservation? {
        guard let holder = annotations[Self.reservedBy], !holder.isEmpty,
            let until = annotations[Self.reservedExpires].flatMap(RFC3339.parse), until > now
        else { return nil }
        return LockReservation(holder: holder, until: until)
    }
}
