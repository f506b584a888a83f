import Foundation
import Synchronization

/// A registered watch: its selection and where its lines go (in order, from under the store's lock).
struct Watcher: Sendable {
    var filter: WatchFilter
    /// Sends one line; called under the store's lock, so lines keep the order of the writes.
    var sink: @Sendable (Data) -> Void
    /// Ends the stream as the API server does when a watch times out.
    var end: @Sendable () -> Void
}

/// The API server's storage: ConfigMaps and namespaces under one global revision counter (etcd's), the retained
/// write history that watches and continue tokens resume from, and the registered watchers.
final class ObjectStore: Sendable {
    struct State {
        var revision: UInt64 = 1000
        var namespaces: [String: UInt64] = ["default": 1, "kube-system": 2, "kube-public": 3]
        var objects: [String: StoredObject] = [:]
        var history: [HistoryEntry] = []
        /// The oldest revision a watch or a continue token may resume from; older ones get 410 Gone.
        var historyFloor: UInt64 = 1000
        var maximumHistory = 10_000
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 1
    }

    let state = Mutex(State())

    // MARK: Namespaces

    func createNamespace(_ name: String) {
        state.withLock { state in
            guard state.namespaces[name] == nil else { return }
            state.revision += 1
            state.namespaces[name] = state.revision
        }
    }

    func namespaceExists(_ name: String) -> Bool {
        state.withLock { $0.namespaces[name] != nil }
    }

    // MARK: Reads

    func get(_ resource: ResourceKind, namespace: String, name: String) throws(APIError) -> StoredObject {
        let object = state.withLock { $0.objects["\(resource.plural)/\(namespace)/\(name)"] }
        guard let object else { throw .notFound(resource.plural, name) }
        return object
    }

    /// A `ConfigMapList` page: sorted by key, filtered, `limit` items, and a continue token that pins the snapshot.
    func list(
        _ resource: ResourceKind, namespace: String?, labels: LabelSelector, fields: FieldSelector, limit: Int?,
        continueToken: String?,
        exactRevision: UInt64? = nil
    ) throws(APIError) -> Data {
        let filter = WatchFilter(resource: resource, namespace: namespace, labels: labels, fields: fields)
        let prefix = "\(resource.plural)/" + (namespace.map { "\($0)/" } ?? "")
        let result: Result<(UInt64, [StoredObject], String?, Int?), APIError> = state.withLock { state in
            var snapshotRevision = state.revision
            var startKey = ""
            if let continueToken {
                guard let token = ContinueToken(encoded: continueToken) else {
                    return .failure(.badRequest("continue key is not valid: incorrect encoded start resourceVersion"))
                }
                guard token.revision >= state.historyFloor else {
                    return .failure(.expired(ContinueToken.expiredMessage))
                }
                snapshotRevision = token.revision
                startKey = token.start
            } else if let exactRevision {
                guard exactRevision >= state.historyFloor else {
                    return .failure(
                        .expired("too old resource version: \(exactRevision) (\(state.historyFloor + 1))"))
                }
                guard exactRevision <= state.revision else {
                    return .failure(
                        APIError(
                            code: 504, reason: "Timeout",
                            message: "Too large resource version: \(exactRevision), current: \(state.revision)"))
                }
                snapshotRevision = exactRevision
            }
            var objects = state.objects
            for entry in state.history.reversed() {
                if entry.revision <= snapshotRevision { break }
                objects[entry.key] = entry.previous
            }
            // Like etcd: walk keys in order until `limit` objects matched; more keys left means a continue token
            // (even if none of them would match the selectors).
            let keys = objects.values
                .filter { $0.key.hasPrefix(prefix) && String($0.key.dropFirst(prefix.count)) >= startKey }
                .sorted { $0.key < $1.key }
            var page: [StoredObject] = []
            var lastIndex = keys.count - 1
            for (index, object) in keys.enumerated() where filter.matches(object) {
                page.append(object)
                if let limit, limit > 0, page.count == limit {
                    lastIndex = index
                    break
                }
            }
            guard lastIndex < keys.count - 1, let last = page.last else {
                return .success((snapshotRevision, page, nil, nil))
            }
            let next = ContinueToken(
                revision: snapshotRevision, start: String(last.key.dropFirst(prefix.count)) + "\u{0}")
            let remaining =
                labels.requirements.isEmpty && fields.requirements.isEmpty ? keys.count - lastIndex - 1 : nil
            return .success((snapshotRevision, page, next.encoded, remaining))
        }
        let (revision, items, next, remaining) = try result.get()
        var metadata: [String: Any] = ["resourceVersion": String(revision)]
        if let next { metadata["continue"] = next }
        if let remaining { metadata["remainingItemCount"] = remaining }
        return JSON.encode(
            [
                "kind": resource.listKind, "apiVersion": resource.apiVersion, "metadata": metadata,
                "items": items.map(\.listItem),
            ] as [String: Any])
    }

    // MARK: Writes

    /// POST: creates `body` in `namespace` with a fresh uid, creationTimestamp and resourceVersion.
    func create(_ resource: ResourceKind, namespace: String, body: Data) throws(APIError) -> StoredObject {
        var object = try Self.decode(body, as: resource)
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        if let bodyNamespace = metadata["namespace"] as? String, !bodyNamespace.isEmpty, bodyNamespace != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        var name = metadata["name"] as? String ?? ""
        if name.isEmpty, let generateName = metadata["generateName"] as? String, !generateName.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            name = generateName + String((0..<5).map { _ in alphabet.randomElement()! })
        }
        if name.isEmpty {
            throw .invalid(
                kind: resource.kind, name: "",
                causes: [("metadata.name", "Required value: name or generateName is required")])
        }
        if let version = metadata["resourceVersion"] as? String, !version.isEmpty {
            throw .unknown("resourceVersion should not be set on objects to be created")
        }
        metadata["uid"] = UUID().uuidString.lowercased()
        metadata["creationTimestamp"] = Self.timestamp()
        metadata["selfLink"] = nil
        metadata["deletionTimestamp"] = nil
        object["metadata"] = metadata
        let finalName = name
        let finalObject = object
        return try state.withLock { state throws(APIError) -> StoredObject in
            guard state.namespaces[namespace] != nil else { throw .notFound("namespaces", namespace) }
            let problems = Validation.problems(resource, finalObject, name: finalName)
            if !problems.isEmpty { throw .invalid(kind: resource.kind, name: finalName, causes: problems) }
            guard state.objects["\(resource.plural)/\(namespace)/\(finalName)"] == nil else {
                throw .alreadyExists(resource.plural, finalName)
            }
            return Self.commit(&state, resource, namespace: namespace, name: finalName, object: finalObject)
        }
    }

    /// PUT: replaces the object; a non-empty `metadata.resourceVersion` must equal the stored one (else 409 Conflict).
    /// An update that changes nothing is not written and keeps its resourceVersion, as with etcd.
    func replace(_ resource: ResourceKind, namespace: String, name: String, body: Data) throws(APIError)
        -> StoredObject
    {
        var object = try Self.decode(body, as: resource)
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        let bodyName = metadata["name"] as? String ?? ""
        guard bodyName == name else {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        if let bodyNamespace = metadata["namespace"] as? String, !bodyNamespace.isEmpty, bodyNamespace != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        let precondition = metadata["resourceVersion"] as? String ?? ""
        if !precondition.isEmpty, UInt64(precondition) == nil {
            throw .invalid(
                kind: resource.kind, name: name,
                causes: [("metadata.resourceVersion", "Invalid value: \"\(precondition)\": must be a number")])
        }
        return try state.withLock { state throws(APIError) -> StoredObject in
            guard let existing = state.objects["\(resource.plural)/\(namespace)/\(name)"] else {
                throw .notFound(resource.plural, name)
            }
            if !precondition.isEmpty, UInt64(precondition) != existing.resourceVersion {
                throw .staleResourceVersion(resource.plural, name)
            }
            let problems = Validation.problems(resource, object, name: name)
            if !problems.isEmpty { throw .invalid(kind: resource.kind, name: name, causes: problems) }
            let old = existing.dictionary["metadata"] as? [String: Any] ?? [:]
            metadata["uid"] = old["uid"]
            metadata["creationTimestamp"] = old["creationTimestamp"]
            object["metadata"] = metadata
            let unchanged = StoredObject(
                object: object, resource: resource, namespace: namespace, name: name,
                resourceVersion: existing.resourceVersion)
            if unchanged.json == existing.json { return existing }
            return Self.commit(&state, resource, namespace: namespace, name: name, object: object)
        }
    }

    /// DELETE with optional `DeleteOptions` preconditions (`resourceVersion`, `uid`); answers a Success Status.
    func delete(_ resource: ResourceKind, namespace: String, name: String, body: Data) throws(APIError) -> Data {
        var preconditionVersion: String?
        var preconditionUID: String?
        if !body.isEmpty {
            guard let options = JSON.decodeObject(body) else {
                throw .badRequest("the body of the request was in an unknown format")
            }
            let preconditions = options["preconditions"] as? [String: Any]
            preconditionVersion = preconditions?["resourceVersion"] as? String
            preconditionUID = preconditions?["uid"] as? String
        }
        let uid: String = try state.withLock { state throws(APIError) -> String in
            guard let existing = state.objects["\(resource.plural)/\(namespace)/\(name)"] else {
                throw .notFound(resource.plural, name)
            }
            let uid = existing.dictionary["metadata"].flatMap { ($0 as? [String: Any])?["uid"] as? String } ?? ""
            if let preconditionUID, !preconditionUID.isEmpty, preconditionUID != uid {
                throw .conflict(
                    resource.plural, name,
                    "Precondition failed: UID in precondition: \(preconditionUID), UID in object meta: \(uid)")
            }
            if let preconditionVersion, !preconditionVersion.isEmpty,
                preconditionVersion != String(existing.resourceVersion)
            {
                throw .conflict(
                    resource.plural, name,
                    "Precondition failed: ResourceVersion in precondition: \(preconditionVersion), "
                        + "ResourceVersion in object meta: \(existing.resourceVersion)")
            }
            Self.commitDeletion(&state, key: existing.key)
            return uid
        }
        return JSON.encode(
            [
                "kind": "Status", "apiVersion": "v1", "metadata": [String: Any](), "status": "Success",
                "details": ["name": name, "kind": resource.plural, "uid": uid],
            ] as [String: Any])
    }

    /// Writes `json` as given (creating or replacing), keeping a given uid and creationTimestamp.
    func seed(_ resource: ResourceKind = .configMaps, namespace: String, json: Data) throws(APIError) {
        var object = try Self.decode(json, as: resource)
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        guard let name = metadata["name"] as? String, !name.isEmpty else {
            throw .badRequest("a seeded \(resource.kind) needs metadata.name")
        }
        if metadata["uid"] == nil { metadata["uid"] = UUID().uuidString.lowercased() }
        if metadata["creationTimestamp"] == nil { metadata["creationTimestamp"] = Self.timestamp() }
        object["metadata"] = metadata
        let finalObject = object
        state.withLock { state in
            if state.namespaces[namespace] == nil {
                state.revision += 1
                state.namespaces[namespace] = state.revision
            }
            _ = Self.commit(&state, resource, namespace: namespace, name: name, object: finalObject)
        }
    }

    func remove(_ resource: ResourceKind = .configMaps, namespace: String, name: String) {
        state.withLock { state in
            let key = "\(resource.plural)/\(namespace)/\(name)"
            guard state.objects[key] != nil else { return }
            Self.commitDeletion(&state, key: key)
        }
    }

    /// Edits the stored object in place (out of band); returns false when it does not exist.
    @discardableResult
    func mutate(
        _ resource: ResourceKind = .configMaps, namespace: String, name: String, _ body: (inout [String: Any]) -> Void
    ) -> Bool {
        state.withLock { state in
            guard let existing = state.objects["\(resource.plural)/\(namespace)/\(name)"] else { return false }
            var object = existing.dictionary
            body(&object)
            _ = Self.commit(&state, resource, namespace: namespace, name: name, object: object)
            return true
        }
    }

    /// Forgets all retained history: watches and continue tokens from before now get 410 Gone.
    func compact() {
        state.withLock { state in
            state.history.removeAll()
            state.historyFloor = state.revision
        }
    }

    // MARK: Watch

    /// Registers a watch from `resourceVersion` (nil or "0": the current objects as ADDED first) and returns the
    /// lines to send first and the watcher id, or nil when the stream ends at once (410 Gone as an ERROR event).
    func openWatch(
        filter: WatchFilter, resourceVersion: UInt64?, sendInitialEvents: Bool = false,
        makeWatcher: (Int) -> (sink: @Sendable (Data) -> Void, end: @Sendable () -> Void)
    ) -> (lines: [Data], id: Int?) {
        state.withLock { state in
            var lines: [Data] = []
            if sendInitialEvents {
                for object in state.objects.values.filter(filter.matches).sorted(by: { $0.key < $1.key }) {
                    lines.append(WatchLine.event(.added, object))
                }
                lines.append(WatchLine.bookmark(state.revision, initialEventsEnd: true, resource: filter.resource))
            } else if let resourceVersion, resourceVersion != 0 {
                guard resourceVersion >= state.historyFloor else {
                    let error = APIError.expired(
                        "too old resource version: \(resourceVersion) (\(state.historyFloor + 1))")
                    return ([WatchLine.error(error)], nil)
                }
                for entry in state.history where entry.revision > resourceVersion {
                    if let (type, object) = filter.event(for: entry) { lines.append(WatchLine.event(type, object)) }
                }
            } else {
                for object in state.objects.values.filter(filter.matches).sorted(by: { $0.key < $1.key }) {
                    lines.append(WatchLine.event(.added, object))
                }
            }
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            let outputs = makeWatcher(id)
            state.watchers[id] = Watcher(filter: filter, sink: outputs.sink, end: outputs.end)
            return (lines, id)
        }
    }

    /// Ends every open watch stream (clients resume from their last resourceVersion).
    func endAllWatches() {
        state.withLock { state in
            for watcher in state.watchers.values { watcher.end() }
            state.watchers.removeAll()
        }
    }

    func removeWatcher(_ id: Int) {
        _ = state.withLock { $0.watchers.removeValue(forKey: id) }
    }

    /// Sends a BOOKMARK at the current revision to one watcher, ordered with its events.
    func sendBookmark(to id: Int) {
        state.withLock { state in
            guard let watcher = state.watchers[id] else { return }
            watcher.sink(WatchLine.bookmark(state.revision, resource: watcher.filter.resource))
        }
    }

    var revision: UInt64 { state.withLock { $0.revision } }

    var watcherCount: Int { state.withLock { $0.watchers.count } }

    // MARK: Internals

    private static func commit(
        _ state: inout State, _ resource: ResourceKind, namespace: String, name: String, object: [String: Any]
    ) -> StoredObject {
        state.revision += 1
        let stored = StoredObject(
            object: object, resource: resource, namespace: namespace, name: name, resourceVersion: state.revision)
        let previous = state.objects.updateValue(stored, forKey: stored.key)
        record(&state, HistoryEntry(revision: state.revision, key: stored.key, object: stored, previous: previous))
        return stored
    }

    private static func commitDeletion(_ state: inout State, key: String) {
        state.revision += 1
        let previous = state.objects.removeValue(forKey: key)
        record(&state, HistoryEntry(revision: state.revision, key: key, object: nil, previous: previous))
    }

    private static func record(_ state: inout State, _ entry: HistoryEntry) {
        state.history.append(entry)
        if state.history.count > state.maximumHistory {
            let dropped = state.history.count - state.maximumHistory / 2
            state.historyFloor = state.history[dropped - 1].revision
            state.history.removeFirst(dropped)
        }
        for watcher in state.watchers.values {
            if let (type, object) = watcher.filter.event(for: entry) { watcher.sink(WatchLine.event(type, object)) }
        }
    }

    /// The body as an object of `resource`'s kind; a Lease's MicroTimes parsed as the API server
    /// does (exactly six fractional digits, else 400) and stored in UTC.
    private static func decode(_ body: Data, as resource: ResourceKind) throws(APIError) -> [String: Any] {
        guard var object = JSON.decodeObject(body) else {
            throw .badRequest("couldn't get version/kind; json parse error: the body is not a JSON object")
        }
        if let kind = object["kind"] as? String, !kind.isEmpty, kind != resource.kind {
            throw .badRequest(
                "\(resource.kind) in version \"\(resource.apiVersion)\" cannot be handled as a \(resource.kind): "
                    + "kind \(kind) is not \(resource.kind)")
        }
        if resource == .leases { try LeaseValidation.normalizeTimes(&object) }
        return object
    }

    static func timestamp(_ date: Date = Date()) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// A list continue token in the API server's format: base64 of `{"v":"meta.k8s.io/v1","rv":N,"start":"key\u0000"}`.
struct ContinueToken {
    var revision: UInt64
    var start: String

    static let expiredMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new list "
        + "without the continue parameter, or use the continue token in this response to retrieve the remainder "
        + "of the results. Continuing with the provided token results in an inconsistent list - objects that were "
        + "created, modified, or deleted between the time the first chunk was returned and now may show up in the list."

    init(revision: UInt64, start: String) {
        self.revision = revision
        self.start = start
    }

    init?(encoded: String) {
        var base64 = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let object = JSON.decodeObject(data),
            object["v"] as? String == "meta.k8s.io/v1", let revision = (object["rv"] as? NSNumber)?.uint64Value,
            let start = object["start"] as? String
        else { return nil }
        self.revision = revision
        self.start = start
    }

    /// URL-safe base64 without padding, as the API server encodes it.
    var encoded: String {
        JSON.encode(["v": "meta.k8s.io/v1", "rv": revision, "start": start] as [String: Any])
            .base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
