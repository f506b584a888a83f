import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A Kubernetes API server double for ConfigMaps (core/v1) and Leases (coordination.k8s.io/v1), served over
/// real HTTP or HTTPS on 127.0.0.1.
///
/// It keeps the semantics the lock backend depends on: a global resourceVersion bumped by every write,
/// `409 Conflict` on a stale resourceVersion, `409 AlreadyExists`, `404 NotFound`, `422 Invalid`, `Status`
/// bodies, label and field selectors, `limit`/`continue` pagination, watch streams with resume and `410 Gone`,
/// bearer-token and client-certificate authentication, RBAC denials, injected faults and per-operation counters.
///
/// Served: `GET/POST /api/v1/namespaces/{ns}/configmaps` (list, `?watch=1`, create), `GET/PUT/DELETE
/// /api/v1/namespaces/{ns}/configmaps/{name}` (DELETE takes `DeleteOptions` preconditions), `GET
/// /api/v1/configmaps`, the legacy `/api/v1/watch/…` paths, `GET /api/v1/namespaces/{ns}`, `/version`,
/// `/healthz`; the same for `/apis/coordination.k8s.io/v1/namespaces/{ns}/leases`, whose `spec` is validated
/// as the API server does (`leaseDurationSeconds` > 0, `leaseTransitions` ≥ 0, MicroTimes with exactly six
/// fractional digits, else 400; offsets stored as UTC). Like etcd, an update that changes nothing keeps its resourceVersion, and the last 10,000 writes
/// are retained for watches and continue tokens (``compactHistory()`` drops them). Token users are
/// `system:serviceaccount:default:lockheed`; certificate users are the certificate's common name.
public final class KubernetesAPIServerDouble: Sendable {
    private let router: APIRouter
    private let channel: any Channel
    private let connections: ConnectionRegistry

    /// The URL clients use: `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    public let baseURL: String

    private init(
        router: APIRouter, channel: any Channel, connections: ConnectionRegistry,
        baseURL: String
    ) {
        self.router = router
        self.channel = channel
        self.connections = connections
        self.baseURL = baseURL
    }

    /// Starts on 127.0.0.1 with a free port. `tls == nil` serves plain HTTP. `bearerTokens` are the accepted
    /// tokens (empty: no authentication check); over TLS with a client CA, a verified client certificate
    /// authenticates too.
    public static func start(tls: TLS? = nil, bearerTokens: Set<String> = ["test-token"]) async throws
        -> KubernetesAPIServerDouble
    {
        let router = APIRouter(bearerTokens: bearerTokens)
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0.serverConfiguration()) }
        let registry = ConnectionRegistry()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                registry.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext { try pipeline.addHandler(NIOSSLServerHandler(context: sslContext)) }
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(APIConnectionHandler(router: router, usesTLS: sslContext != nil))
                }
            }
        let channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw DoubleError.noPort
        }
        return KubernetesAPIServerDouble(
            router: router, channel: channel, connections: registry,
            baseURL: "\(tls == nil ? "http" : "https")://127.0.0.1:\(port)")
    }

    /// Stops listening and closes every open connection (ending open watches).
    public func shutdown() async throws {
        try? await channel.close()
        let open = connections.channels.withLock { Array($0.values) }
        for connection in open { try? await connection.close() }
    }

    // MARK: Namespaces and objects

    /// Creates a namespace (a no-op if it exists). `default`, `kube-system` and `kube-public` exist from the start.
    public func createNamespace(_ name: String) {
        router.store.createNamespace(name)
    }

    /// Denies `verb` on `resource` in `namespace` as RBAC would: `403 Forbidden` naming verb and resource.
    /// `verb` is an RBAC verb (`get`, `list`, `watch`, `create`, `update`, `delete`, `patch`) or an HTTP-style
    /// one (`GET`, `LIST`, `WATCH`, `POST`, `PUT`, `DELETE`); `*` matches all, as does `*` for resource or namespace.
    public func setForbidden(verb: String, resource: String, namespace: String) {
        let rule = APIRouter.ForbiddenRule(
            verb: APIRouter.rbacVerb(verb), resource: resource.lowercased(), namespace: namespace)
        _ = router.control.withLock { $0.forbidden.insert(rule) }
    }

    /// Lifts every denial set with ``setForbidden(verb:resource:namespace:)``.
    public func clearForbidden() {
        router.control.withLock { $0.forbidden.removeAll() }
    }

    /// The stored ConfigMap as JSON (with `kind`, `apiVersion` and full metadata), or nil.
    public func configMap(namespace: String, name: String) -> Data? {
        try? router.store.get(.configMaps, namespace: namespace, name: name).json
    }

    /// Creates or replaces a ConfigMap exactly as given (its `metadata.name` names it), bumping the
    /// resourceVersion and notifying watchers; creates the namespace if needed. For seeding Go-format objects.
    public func seedConfigMap(namespace: String, json: Data) throws {
        do throws(APIError) {
            try router.store.seed(namespace: namespace, json: json)
        } catch {
            throw DoubleError.invalidSeed(error.message)
        }
    }

    /// Deletes a ConfigMap out of band (a DELETED event for watchers); a no-op if it does not exist.
    public func deleteConfigMap(namespace: String, name: String) {
        router.store.remove(namespace: namespace, name: name)
    }

    /// Edits a stored ConfigMap out of band (as another client would), bumping its resourceVersion and
    /// notifying watchers; a no-op if it does not exist. `body` runs under the double's lock: it must not
    /// call back into the double.
    public func mutateConfigMap(namespace: String, name: String, _ body: (inout [String: Any]) -> Void) {
        router.store.mutate(namespace: namespace, name: name, body)
    }

    /// The stored Lease as JSON (with `kind`, `apiVersion` and full metadata), or nil.
    public func lease(namespace: String, name: String) -> Data? {
        try? router.store.get(.leases, namespace: namespace, name: name).json
    }

    /// Creates or replaces a Lease exactly as given (times in the MicroTime layout, stored in
    /// UTC), as ``seedConfigMap(namespace:json:)`` does for ConfigMaps: for replaying client-go's writes.
    public func seedLease(namespace: String, json: Data) throws {
        do throws(APIError) {
            try router.store.seed(.leases, namespace: namespace, json: json)
        } catch {
            throw DoubleError.invalidSeed(error.message)
        }
    }

    /// Deletes a Lease out of band; a no-op if it does not exist.
    public func deleteLease(namespace: String, name: String) {
        router.store.remove(.leases, namespace: namespace, name: name)
    }

    /// Edits a stored Lease out of band, as ``mutateConfigMap(namespace:name:_:)`` does.
    public func mutateLease(namespace: String, name: String, _ body: (inout [String: Any]) -> Void) {
        router.store.mutate(.leases, namespace: namespace, name: name, body)
    }

    /// The requests received for one resource (`configmaps`, `leases`) and operation (`GET`,
    /// `LIST`, `WATCH`, `POST`, `PUT`, `DELETE`) since the last reset.
    public func requestCount(_ verb: String, resource: ResourceKind) -> Int {
        router.control.withLock { $0.resourceCounts["\(resource.plural) \(verb)"] ?? 0 }
    }

    /// The current global resourceVersion (the revision of the last write).
    public var currentResourceVersion: String {
        String(router.store.revision)
    }

    /// Forgets the retained write history, as an etcd compaction does: watches resuming from an older
    /// resourceVersion get an ERROR event with a `410 Gone` Status, and older continue tokens a 410.
    public func compactHistory() {
        router.store.compact()
    }

    /// Ends every open watch stream cleanly, as the API server does when watches time out; clients are
    /// expected to resume from the last resourceVersion they saw.
    public func endAllWatches() {
        router.store.endAllWatches()
    }

    /// The number of watch streams open now.
    public var openWatchCount: Int {
        router.store.watcherCount
    }

    // MARK: Faults and counters

    /// Applies `fault` to the next `times` requests that `matcher` selects (faults stack: a latency and a
    /// status fault can both apply to one request).
    public func inject(_ fault: Fault, on matcher: RequestMatcher, times: Int) {
        guard times > 0 else { return }
        router.control.withLock { $0.faults.append(ArmedFault(fault: fault, matcher: matcher, remaining: times)) }
    }

    /// Disarms every injected fault.
    public func clearFaults() {
        router.control.withLock { $0.faults.removeAll() }
    }

    /// The ConfigMap and Lease requests received since the last reset, for one operation (`GET`, `LIST`, `WATCH`, `POST`,
    /// `PUT`, `DELETE`, `PATCH`) or all of them (nil). Requests a fault answered count too; `/version` does not.
    public func requestCount(_ verb: String? = nil) -> Int {
        router.control.withLock { control in
            guard let verb else { return control.counts.values.reduce(0, +) }
            return control.counts[verb.uppercased(), default: 0]
        }
    }

    /// Sets every request counter to zero.
    public func resetCounters() {
        router.control.withLock { control in
            control.counts.removeAll()
            control.resourceCounts.removeAll()
        }
    }
}

/// Errors of the double itself (not API answers).
public enum DoubleError: Error, Sendable, CustomStringConvertible {
    /// The listening socket reported no port.
    case noPort
    /// A seeded object was not a ConfigMap JSON object with a name.
    case invalidSeed(String)
    /// Generating test certificates failed (the `openssl` command's output).
    case certificateGeneration(String)

    /// A readable description.
    public var description: String {
        switch self {
        case .noPort: "the API server double could not learn its port"
        case .invalidSeed(let detail): "invalid seed object: \(detail)"
        case .certificateGeneration(let detail): "generating test certificates failed: \(detail)"
        }
    }
}

/// The open connections, so that shutdown can close them.
final class ConnectionRegistry: Sendable {
    let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            _ = self?.channels.withLock { $0.removeValue(forKey: id) }
        }
    }
}
