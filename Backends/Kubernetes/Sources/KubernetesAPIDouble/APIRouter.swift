import Foundation
import Synchronization

/// One HTTP request as the router sees it.
struct APIRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var authorization: String?
    var body: Data
    /// The common name of a verified client certificate, when the connection presented one.
    var certificateUser: String?

    /// Parses `uri` into a path and query parameters, decoding them as Go's `url.ParseQuery` does.
    init(method: String, uri: String, authorization: String?, body: Data, certificateUser: String?) {
        self.method = method
        self.authorization = authorization
        self.body = body
        self.certificateUser = certificateUser
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = parts.first.map { String($0).removingPercentEncoding ?? String($0) } ?? "/"
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                func decode(_ text: Substring) -> String {
                    let spaced = text.replacingOccurrences(of: "+", with: " ")
                    return spaced.removingPercentEncoding ?? spaced
                }
                let key = decode(keyValue[0])
                if query[key] == nil { query[key] = keyValue.count == 2 ? decode(keyValue[1]) : "" }
            }
        }
        self.query = query
    }
}

/// What the connection handler sends back.
enum APIResponse: Sendable {
    case full(status: Int, body: Data, headers: [(String, String)])
    case watch(WatchPlan)
    case drop

    static func error(_ error: APIError) -> APIResponse {
        var headers: [(String, String)] = []
        if let seconds = error.retryAfterSeconds { headers.append(("Retry-After", String(seconds))) }
        return .full(status: error.code, body: error.statusBody(), headers: headers)
    }
}

/// A validated watch request, to be opened by the connection that streams it.
struct WatchPlan: Sendable {
    var filter: WatchFilter
    var resourceVersion: UInt64?
    var bookmarks: Bool
    /// `sendInitialEvents=true` (watch-list): the current objects as ADDED, then a BOOKMARK annotated
    /// `k8s.io/initial-events-end`.
    var sendInitialEvents: Bool
    var timeoutSeconds: Int?
}

/// A ConfigMap or Lease API operation parsed from method and path.
struct Operation: Sendable {
    /// The resource it is on.
    var resource: ResourceKind = .configMaps
    /// `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `DELETE`, `PATCH` or `DELETECOLLECTION`.
    var verb: String
    var namespace: String?
    var name: String?

    /// The RBAC verb the operation needs.
    var rbacVerb: String {
        switch verb {
        case "GET": "get"
        case "LIST": "list"
        case "WATCH": "watch"
        case "POST": "create"
        case "PUT": "update"
        case "DELETE": "delete"
        case "PATCH": "patch"
        default: "deletecollection"
        }
    }
}

/// The decision taken when a request arrives: how long to delay it and which fault (if any) answers it.
struct Admission: Sendable {
    var delay: Duration = .zero
    var fault: KubernetesAPIServerDouble.Fault?
}

/// Routes requests: authentication, RBAC denials, injected faults, counters, then the store.
final class APIRouter: Sendable {
    struct Control {
        var forbidden: Set<ForbiddenRule> = []
        var faults: [ArmedFault] = []
        var counts: [String: Int] = [:]
        /// Per resource and verb, e.g. `leases GET`.
        var resourceCounts: [String: Int] = [:]
    }

    struct ForbiddenRule: Hashable {
        var verb: String
        var resource: String
        var namespace: String
    }

    let store = ObjectStore()
    let bearerTokens: Set<String>
    let control = Mutex(Control())

    /// The user a bearer token authenticates as (the double does not distinguish tokens).
    static let tokenUser = "system:serviceaccount:default:lockheed"

    init(bearerTokens: Set<String>) {
        self.bearerTokens = bearerTokens
    }

    // MARK: Arrival

    /// Counts a ConfigMap or Lease request and takes the faults armed for it.
    func admit(_ request: APIRequest) -> Admission {
        guard case .objects(let operation)? = try? route(request) else { return Admission() }
        return control.withLock { control in
            control.counts[operation.verb, default: 0] += 1
            control.resourceCounts["\(operation.resource.plural) \(operation.verb)", default: 0] += 1
            var admission = Admission()
            for index in control.faults.indices
            where control.faults[index].remaining > 0
                && control.faults[index].matcher.matches(
                    verb: operation.verb, name: operation.name, namespace: operation.namespace)
            {
                if case .latency(let duration) = control.faults[index].fault {
                    admission.delay += duration
                } else if admission.fault == nil {
                    admission.fault = control.faults[index].fault
                } else {
                    continue
                }
                control.faults[index].remaining -= 1
            }
            control.faults.removeAll { $0.remaining <= 0 }
            return admission
        }
    }

    // MARK: Answer

    /// Answers a request after its admission delay.
    func respond(_ request: APIRequest, _ admission: Admission) -> APIResponse {
        do throws(APIError) {
            let route = try route(request)
            if case .objects(let operation) = route, let fault = admission.fault {
                switch fault {
                case .dropConnection: return .drop
                case .status(let code, let retryAfterSeconds):
                    return .error(.injected(code: code, retryAfterSeconds: retryAfterSeconds))
                case .conflict:
                    if !competingWrite(operation) {
                        throw .conflict(
                            operation.resource.plural, operation.name ?? "",
                            "the object has been modified; please apply your changes to the latest version and try again"
                        )
                    }
                case .latency: break
                }
            }
            switch route {
            case .version:
                return .full(status: 200, body: Self.versionBody, headers: [])
            case .health:
                return .full(status: 200, body: Data("ok".utf8), headers: [("Content-Type", "text/plain")])
            case .namespace(let name):
                let user = try authenticate(request)
                try authorize(user: user, verb: "get", resource: "namespaces", name: name, namespace: nil)
                return try namespace(name)
            case .objects(let operation):
                let user = try authenticate(request)
                try authorize(
                    user: user, verb: operation.rbacVerb, resource: operation.resource.plural, name: operation.name,
                    namespace: operation.namespace)
                return try serve(operation, request)
            }
        } catch {
            return .error(error)
        }
    }

    private func serve(_ operation: Operation, _ request: APIRequest) throws(APIError) -> APIResponse {
        let namespace = operation.namespace
        let resource = operation.resource
        switch operation.verb {
        case "GET":
            let object = try store.get(resource, namespace: namespace ?? "", name: operation.name ?? "")
            return .full(status: 200, body: object.json, headers: [])
        case "LIST":
            var limit: Int?
            if let text = request.query["limit"], !text.isEmpty {
                guard let value = Int(text), value >= 0 else { throw .badRequest("invalid limit: \(text)") }
                limit = value
            }
            let continueToken = request.query["continue"].flatMap { $0.isEmpty ? nil : $0 }
            var exactRevision: UInt64?
            if request.query["resourceVersionMatch"] == "Exact" {
                guard let text = request.query["resourceVersion"], let value = UInt64(text), value > 0 else {
                    throw .badRequest("resourceVersionMatch: Exact requires a non-zero resourceVersion")
                }
                exactRevision = value
            }
            let body = try store.list(
                resource, namespace: namespace, labels: try labelSelector(request), fields: try fieldSelector(request),
                limit: limit, continueToken: continueToken, exactRevision: exactRevision)
            return .full(status: 200, body: body, headers: [])
        case "WATCH":
            var fields = try fieldSelector(request)
            if let name = operation.name {
                fields.requirements.append(.equals(field: "metadata.name", value: name))
            }
            var resourceVersion: UInt64?
            if let text = request.query["resourceVersion"], !text.isEmpty {
                guard let value = UInt64(text) else { throw .badRequest("invalid resource version: \(text)") }
                resourceVersion = value
            }
            var timeoutSeconds: Int?
            if let text = request.query["timeoutSeconds"], !text.isEmpty {
                guard let value = Int(text), value >= 0 else { throw .badRequest("invalid timeoutSeconds: \(text)") }
                timeoutSeconds = value
            }
            let filter = WatchFilter(
                resource: resource, namespace: namespace, labels: try labelSelector(request), fields: fields)
            return .watch(
                WatchPlan(
                    filter: filter, resourceVersion: resourceVersion,
                    bookmarks: Self.parseBool(request.query["allowWatchBookmarks"]),
                    sendInitialEvents: Self.parseBool(request.query["sendInitialEvents"]),
                    timeoutSeconds: timeoutSeconds))
        case "POST":
            let object = try store.create(resource, namespace: namespace ?? "", body: request.body)
            return .full(status: 201, body: object.json, headers: [])
        case "PUT":
            let object = try store.replace(
                resource, namespace: namespace ?? "", name: operation.name ?? "", body: request.body)
            return .full(status: 200, body: object.json, headers: [])
        case "DELETE":
            let body = try store.delete(
                resource, namespace: namespace ?? "", name: operation.name ?? "", body: request.body)
            return .full(status: 200, body: body, headers: [])
        default:
            throw .methodNotAllowed(request.method)
        }
    }

    /// The competing writer of a `.conflict` fault: touches the object so its resourceVersion moves on.
    private func competingWrite(_ operation: Operation) -> Bool {
        guard operation.verb == "PUT" || operation.verb == "DELETE", let namespace = operation.namespace,
            let name = operation.name
        else { return false }
        return store.mutate(operation.resource, namespace: namespace, name: name) { object in
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            var annotations = metadata["annotations"] as? [String: Any] ?? [:]
            let count = Int(annotations["lockheed.test/competing-writes"] as? String ?? "0") ?? 0
            annotations["lockheed.test/competing-writes"] = String(count + 1)
            metadata["annotations"] = annotations
            object["metadata"] = metadata
        }
    }

    // MARK: Authentication and authorization

    /// The authenticated user: a verified client certificate's common name or a valid bearer token's user.
    func authenticate(_ request: APIRequest) throws(APIError) -> String {
        if let user = request.certificateUser { return user }
        let token = request.authorization.flatMap { header -> String? in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return parts[1].trimmingCharacters(in: .whitespaces)
        }
        if bearerTokens.isEmpty { return token == nil ? "system:anonymous" : Self.tokenUser }
        guard let token, bearerTokens.contains(token) else { throw .unauthorized }
        return Self.tokenUser
    }

    func authorize(user: String, verb: String, resource: String, name: String?, namespace: String?)
        throws(APIError)
    {
        let denied = control.withLock { control in
            control.forbidden.contains { rule in
                (rule.verb == "*" || rule.verb == verb) && (rule.resource == "*" || rule.resource == resource)
                    && (rule.namespace == "*" || rule.namespace == "" || rule.namespace == namespace)
            }
        }
        if denied {
            throw .forbidden(user: user, verb: verb, resource: resource, name: name, namespace: namespace)
        }
    }

    /// Normalizes HTTP-style (`PUT`) and RBAC (`update`) verbs to the RBAC verb.
    static func rbacVerb(_ verb: String) -> String {
        switch verb.uppercased() {
        case "GET": "get"
        case "LIST": "list"
        case "WATCH": "watch"
        case "POST", "CREATE": "create"
        case "PUT", "UPDATE": "update"
        case "DELETE": "delete"
        case "PATCH": "patch"
        case "*": "*"
        default: verb.lowercased()
        }
    }

    // MARK: Routing

    enum Route {
        case version
        case health
        case namespace(String)
        case objects(Operation)
    }

    func route(_ request: APIRequest) throws(APIError) -> Route {
        let segments = request.path.split(separator: "/").map(String.init)
        let method = request.method.uppercased()
        switch segments.count {
        case 1 where segments[0] == "version": return .version
        case 1 where ["healthz", "readyz", "livez"].contains(segments[0]): return .health
        default: break
        }
        let groupVersionLength: Int
        if segments.count >= 3, segments[0] == "api", segments[1] == "v1" {
            groupVersionLength = 2
        } else if segments.count >= 4, segments[0] == "apis", segments[1] == "coordination.k8s.io", segments[2] == "v1"
        {
            groupVersionLength = 3
        } else {
            throw .pathNotFound(request.path)
        }
        let groupVersion = Array(segments.prefix(groupVersionLength))
        var rest = Array(segments.dropFirst(groupVersionLength))
        let legacyWatch = rest.first == "watch"
        if legacyWatch { rest.removeFirst() }
        var namespace: String?
        if rest.first == "namespaces" {
            guard rest.count >= 2 else { throw .pathNotFound(request.path) }
            let name = rest[1]
            namespace = name
            rest.removeFirst(2)
            if rest.isEmpty && !legacyWatch && groupVersionLength == 2 {
                guard method == "GET" else { throw .methodNotAllowed(method) }
                return .namespace(name)
            }
        }
        guard let plural = rest.first, let resource = ResourceKind.served(groupVersion: groupVersion, plural: plural),
            rest.count <= 2
        else { throw .pathNotFound(request.path) }
        let name = rest.count == 2 ? rest[1] : nil
        if name != nil && namespace == nil { throw .pathNotFound(request.path) }
        let watch = legacyWatch || Self.parseBool(request.query["watch"])
        let verb: String
        switch (method, name) {
        case ("GET", nil): verb = watch ? "WATCH" : "LIST"
        case ("GET", _): verb = watch ? "WATCH" : "GET"
        case ("POST", nil): verb = "POST"
        case ("PUT", .some): verb = "PUT"
        case ("DELETE", .some): verb = "DELETE"
        case ("DELETE", nil): verb = "DELETECOLLECTION"
        case ("PATCH", .some): verb = "PATCH"
        default: throw .methodNotAllowed(method)
        }
        if legacyWatch && verb != "WATCH" { throw .methodNotAllowed(method) }
        var objectName = name
        if objectName == nil, verb == "LIST" || verb == "WATCH",
            let fields = try? FieldSelector(parsing: request.query["fieldSelector"] ?? "")
        {
            for case .equals("metadata.name", let value) in fields.requirements { objectName = value }
        }
        return .objects(Operation(resource: resource, verb: verb, namespace: namespace, name: objectName))
    }

    private func labelSelector(_ request: APIRequest) throws(APIError) -> LabelSelector {
        try LabelSelector(parsing: request.query["labelSelector"] ?? "")
    }

    private func fieldSelector(_ request: APIRequest) throws(APIError) -> FieldSelector {
        try FieldSelector(parsing: request.query["fieldSelector"] ?? "")
    }

    /// Go's `strconv.ParseBool` truth values.
    static func parseBool(_ text: String?) -> Bool {
        ["1", "t", "T", "TRUE", "true", "True"].contains(text ?? "")
    }

    private func namespace(_ name: String) throws(APIError) -> APIResponse {
        let revision: UInt64? = store.state.withLock { $0.namespaces[name] }
        guard let revision else { throw .notFound("namespaces", name) }
        let body: [String: Any] = [
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": ["name": name, "resourceVersion": String(revision)],
            "spec": ["finalizers": ["kubernetes"]], "status": ["phase": "Active"],
        ]
        return .full(status: 200, body: JSON.encode(body), headers: [])
    }

    static let versionBody = JSON.encode([
        "major": "1", "minor": "31", "gitVersion": "v1.31.0-lockheed-double", "gitCommit": "", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22.0", "compiler": "gc", "platform": "linux/amd64",
    ])
}
