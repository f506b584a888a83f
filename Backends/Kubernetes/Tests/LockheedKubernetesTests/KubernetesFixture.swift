import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import LockheedTestSupport
import Synchronization
import Testing

@testable import LockheedKubernetes

/// One API-server double shared by the tests that inject no faults; each test gets its own namespace.
enum SharedDouble {
    private static let server = Task { try await KubernetesAPIServerDouble.start() }

    static func get() async throws -> KubernetesAPIServerDouble { try await server.value }
}

/// A fresh namespace name.
func freshNamespace() -> String { "t-" + UUID().uuidString.lowercased().prefix(12) }

/// A configuration for `server` in `namespace` with the double's default token.
func doubleConfiguration(_ server: KubernetesAPIServerDouble, namespace: String) -> KubernetesConfiguration {
    var configuration = KubernetesConfiguration(
        server: server.baseURL, namespace: namespace, authentication: .bearerToken("test-token"))
    configuration.pollInterval = .milliseconds(200)
    return configuration
}

/// Runs the conformance suite against the double (a fresh namespace per test) or a real cluster
/// (a fresh ConfigMap prefix per test in `LOCKHEED_TEST_NAMESPACE`).
final class KubernetesFixture: ConformanceFixture {
    enum Target {
        case double(KubernetesAPIServerDouble)
        case cluster
    }

    let target: Target
    let configuration: KubernetesConfiguration
    /// Whether locks live in Leases rather than ConfigMaps.
    var isLease: Bool { configuration.kind == .lease }
    private let lockers = Mutex<[KubernetesLocker]>([])
    private let proxies = Mutex<[FaultProxy]>([])
    private let losses = Mutex<Int>(0)

    /// Everything; the freeze hook only on the double (a real cluster is not behind our proxy);
    /// no shared locks in Leases (one holder per Lease).
    var capabilities: ConformanceCapabilities {
        var all = ConformanceCapabilities.all
        if case .cluster = target { all.remove(.freezeHook) }
        if isLease { all.remove(.sharedLocks) }
        return all
    }

    /// A fixture on the shared double, in a new namespace, keeping locks in `kind`.
    init(kind: KubernetesConfiguration.StorageKind = .configMap) async throws {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        target = .double(server)
        var configuration = doubleConfiguration(server, namespace: namespace)
        configuration.kind = kind
        self.configuration = configuration
    }

    /// A fixture on the cluster of `LOCKHEED_TEST_KUBECONFIG`, with a fresh prefix.
    init(clusterKubeconfig path: String, namespace: String?, kind: KubernetesConfiguration.StorageKind = .configMap)
        throws
    {
        let prefix = "lht-" + UUID().uuidString.lowercased().prefix(8)
        target = .cluster
        var configuration = try KubernetesConfiguration.kubeconfig(
            path: path, namespace: namespace, prefix: String(prefix))
        configuration.kind = kind
        self.configuration = configuration
    }

    /// The collection path of this fixture's lock objects.
    var collectionPath: String {
        isLease
            ? "/apis/coordination.k8s.io/v1/namespaces/\(configuration.namespace)/leases"
            : "/api/v1/namespaces/\(configuration.namespace)/configmaps"
    }

    func makeLocker() async throws -> any Locker { try makeKubernetesLocker() }

    /// A client on the double behind a ``FaultProxy`` (on a real cluster: unsupported).
    func makeFreezableClient() async throws -> FreezableClient {
        guard case .double(let server) = target, let port = URLComponents(string: server.baseURL)?.port else {
            throw ConformanceUnsupported.hook("makeFreezableClient")
        }
        let proxy = try FaultProxy(forwardingTo: port)
        var viaProxy = configuration
        viaProxy.server = "http://127.0.0.1:\(proxy.port)"
        viaProxy.requestTimeout = .seconds(15)
        let locker = try KubernetesLocker(configuration: viaProxy)
        lockers.withLock { $0.append(locker) }
        proxies.withLock { $0.append(proxy) }
        return FreezableClient(locker: locker, freeze: { proxy.freeze() }, thaw: { proxy.resume() })
    }

    func makeKubernetesLocker() throws -> KubernetesLocker {
        let locker = try KubernetesLocker(configuration: configuration)
        lockers.withLock { $0.append(locker) }
        return locker
    }

    func expireLeases(of name: LockName) async throws {
        let past = RFC3339.format(Date().addingTimeInterval(-1))
        if isLease {
            // Our lease's exact expiry is in the extras annotation (client-go's are judged by
            // observation, which no edit can shorten).
            try await editObject(name) { object in
                var metadata = object["metadata"] as? [String: Any] ?? [:]
                var annotations = metadata["annotations"] as? [String: Any] ?? [:]
                guard let text = annotations[ConfigMapObject.extrasAnnotation] as? String,
                    var extras = try? JSONDecoder().decode(RecordExtras.self, from: Data(text.utf8))
                else { return }
                for holder in extras.leases.keys { extras.leases[holder]?.expires = past }
                annotations[ConfigMapObject.extrasAnnotation] = String(
                    decoding: KubernetesJSON.encode(extras), as: UTF8.self)
                metadata["annotations"] = annotations
                object["metadata"] = metadata
            }
            return
        }
        try await editLock(name) { record in
            for holder in record.keys {
                if var lease = record[holder] as? [String: Any] {
                    lease["expires"] = past
                    record[holder] = lease
                }
            }
        }
    }

    func deleteLock(_ name: LockName) async throws {
        let objectName = "\(configuration.prefix)-\(name)"
        switch target {
        case .double(let server):
            if isLease {
                server.deleteLease(namespace: configuration.namespace, name: objectName)
            } else {
                server.deleteConfigMap(namespace: configuration.namespace, name: objectName)
            }
        case .cluster:
            let api = try KubernetesAPI(configuration: configuration)
            defer { Task { await api.shutdown() } }
            _ = try await api.send(method: "DELETE", path: "\(collectionPath)/\(objectName)")
        }
    }

    func corruptState(of name: LockName) async throws {
        if isLease {
            try await editObject(name) { object in
                var metadata = object["metadata"] as? [String: Any] ?? [:]
                var annotations = metadata["annotations"] as? [String: Any] ?? [:]
                annotations[ConfigMapObject.fencingCounterAnnotation] = "truncated"
                metadata["annotations"] = annotations
                object["metadata"] = metadata
            }
            return
        }
        try await editObject(name) { object in
            var data = object["data"] as? [String: Any] ?? [:]
            data["lock"] = "{\"name\": \"truncated"
            object["data"] = data
        }
    }

    /// Loses the counter the two ways production does, alternating per call: first as a Go
    /// client's write plus an operator stripping our annotations (no copy of the counter is left
    /// in the object), then by deleting the ConfigMap.
    func loseFencingCounter(of name: LockName) async throws {
        let count = losses.withLock { value in
            value += 1
            return value
        }
        guard count.isMultiple(of: 2) else {
            let lease = isLease
            try await editObject(name) { object in
                if lease {
                    // What an operator's `kubectl annotate …-` leaves: client-go's spec only.
                    var metadata = object["metadata"] as? [String: Any] ?? [:]
                    let annotations = (metadata["annotations"] as? [String: Any] ?? [:])
                        .filter { !$0.key.hasPrefix("lockheed.io/") }
                    metadata["annotations"] = annotations.isEmpty ? nil : annotations
                    object["metadata"] = metadata
                } else {
                    GoClient.roundTrip(&object, strippingOurAnnotations: true)
                }
            }
            return
        }
        try await deleteLock(name)
    }

    /// Deletes every ConfigMap of this fixture's prefix found by the lock label selector,
    /// malformed or not (a real cluster keeps them otherwise).
    func tearDown() async {
        let all = lockers.withLock { $0 }
        if case .cluster = target, let locker = all.first {
            let objects = (try? await locker.listObjects(query: [("labelSelector", ConfigMapObject.lockLabel)])) ?? []
            for name in objects.compactMap(\.metadata.name) where name.hasPrefix(configuration.prefix + "-") {
                _ = try? await locker.api.send(method: "DELETE", path: "\(locker.collectionPath)/\(name)")
            }
        }
        for locker in all { await locker.shutdown() }
        for proxy in proxies.withLock({ $0 }) { proxy.stop() }
    }

    /// Edits the `leases` of the stored lock record out of band.
    private func editLock(_ name: LockName, _ body: @escaping @Sendable (inout [String: Any]) -> Void) async throws {
        try await editObject(name) { object in
            var data = object["data"] as? [String: Any] ?? [:]
            guard let text = data["lock"] as? String,
                var record = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { return }
            var leases = record["leases"] as? [String: Any] ?? [:]
            body(&leases)
            record["leases"] = leases
            if let json = try? JSONSerialization.data(withJSONObject: record) {
                data["lock"] = String(decoding: json, as: UTF8.self)
            }
            object["data"] = data
        }
    }

    /// Edits the ConfigMap out of band: the double's hook, or GET + PUT on a real cluster.
    private func editObject(_ name: LockName, _ body: @escaping @Sendable (inout [String: Any]) -> Void) async throws {
        let objectName = "\(configuration.prefix)-\(name)"
        switch target {
        case .double(let server):
            if isLease {
                server.mutateLease(namespace: configuration.namespace, name: objectName, body)
            } else {
                server.mutateConfigMap(namespace: configuration.namespace, name: objectName, body)
            }
        case .cluster:
            let api = try KubernetesAPI(configuration: configuration)
            defer { Task { await api.shutdown() } }
            let path = "\(collectionPath)/\(objectName)"
            let response = try await api.send(method: "GET", path: path)
            guard var object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any] else { return }
            body(&object)
            _ = try await api.send(method: "PUT", path: path, body: try JSONSerialization.data(withJSONObject: object))
        }
    }
}
