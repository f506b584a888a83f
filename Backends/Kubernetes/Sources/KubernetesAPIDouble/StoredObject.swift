import Foundation

/// One ConfigMap as stored: its full JSON (kind, apiVersion, metadata with `resourceVersion`) plus the indexed fields.
struct StoredObject: Sendable {
    var resource: ResourceKind
    var namespace: String
    var name: String
    var resourceVersion: UInt64
    var labels: [String: String]
    var json: Data

    /// The etcd-like key, `resource/namespace/name`; its byte order is the list order.
    var key: String { "\(resource.plural)/\(namespace)/\(name)" }

    /// Stamps `object` with `namespace`, `name` and `resourceVersion` and indexes it.
    init(object: [String: Any], resource: ResourceKind, namespace: String, name: String, resourceVersion: UInt64) {
        var object = object
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["namespace"] = namespace
        metadata["name"] = name
        metadata["resourceVersion"] = String(resourceVersion)
        object["metadata"] = metadata
        object["kind"] = resource.kind
        object["apiVersion"] = resource.apiVersion
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.resourceVersion = resourceVersion
        var labels: [String: String] = [:]
        for (key, value) in metadata["labels"] as? [String: Any] ?? [:] {
            if let value = value as? String { labels[key] = value }
        }
        self.labels = labels
        self.json = JSON.encode(object)
    }

    /// The object as a dictionary.
    var dictionary: [String: Any] { JSON.decodeObject(json) ?? [:] }

    /// The same object stamped with another resourceVersion (a DELETED watch event carries the deletion's).
    func restamped(_ resourceVersion: UInt64) -> StoredObject {
        StoredObject(
            object: dictionary, resource: resource, namespace: namespace, name: name, resourceVersion: resourceVersion)
    }

    /// The object as a list item: the API server omits `kind` and `apiVersion` inside a typed list.
    var listItem: [String: Any] {
        var object = dictionary
        object["kind"] = nil
        object["apiVersion"] = nil
        return object
    }
}

/// The kind of a watch event.
enum WatchEventType: String, Sendable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
    case bookmark = "BOOKMARK"
    case error = "ERROR"
}

/// One write in the retained history; `object` is nil for a deletion, `previous` nil for a creation.
struct HistoryEntry: Sendable {
    var revision: UInt64
    var key: String
    var object: StoredObject?
    var previous: StoredObject?
}

/// What a watch selects: a namespace (nil for all), a label selector and a field selector.
struct WatchFilter: Sendable {
    var resource: ResourceKind = .configMaps
    var namespace: String?
    var labels: LabelSelector
    var fields: FieldSelector

    func matches(_ object: StoredObject) -> Bool {
        resource == object.resource && (namespace == nil || namespace == object.namespace)
            && labels.matches(object.labels)
            && fields.matches(namespace: object.namespace, name: object.name)
    }

    /// The event this watcher sees for a history entry, as the API server's watch cache decides it:
    /// entering the selection is ADDED, leaving it is DELETED (previous content, the write's revision).
    func event(for entry: HistoryEntry) -> (WatchEventType, StoredObject)? {
        let currentPasses = entry.object.map(matches) ?? false
        let previousPasses = entry.previous.map(matches) ?? false
        switch (currentPasses, previousPasses) {
        case (true, false): return entry.object.map { (.added, $0) }
        case (true, true): return entry.object.map { (.modified, $0) }
        case (false, true): return entry.previous.map { (.deleted, $0.restamped(entry.revision)) }
        case (false, false): return nil
        }
    }
}

/// Watch stream framing: one JSON object per line, `{"type":…,"object":…}`.
enum WatchLine {
    static func event(_ type: WatchEventType, _ object: StoredObject) -> Data {
        line(type, JSON.decodeObject(object.json) ?? [:])
    }

    /// A BOOKMARK: an object carrying only `metadata.resourceVersion` (and, closing the initial events of a
    /// `sendInitialEvents` watch, the `k8s.io/initial-events-end` annotation).
    static func bookmark(_ revision: UInt64, initialEventsEnd: Bool = false, resource: ResourceKind = .configMaps)
        -> Data
    {
        var metadata: [String: Any] = ["resourceVersion": String(revision), "creationTimestamp": NSNull()]
        if initialEventsEnd { metadata["annotations"] = ["k8s.io/initial-events-end": "true"] }
        return line(.bookmark, ["kind": resource.kind, "apiVersion": resource.apiVersion, "metadata": metadata])
    }

    static func error(_ error: APIError) -> Data {
        line(.error, JSON.decodeObject(error.statusBody()) ?? [:])
    }

    private static func line(_ type: WatchEventType, _ object: [String: Any]) -> Data {
        var data = JSON.encode(["type": type.rawValue, "object": object] as [String: Any])
        data.append(0x0A)
        return data
    }
}
