import Foundation
import KubernetesAPIDouble
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("interop with the Go original's ConfigMaps")
struct GoInteropTests {
    /// A ConfigMap exactly as the Go original writes it (`lockheed-<name>`, the label, `data.lock`).
    static func goConfigMap(
        name: String, namespace: String, leases: [(String, String)], tags: [String] = [],
        annotations: [String: String] = [:]
    ) -> Data {
        let leaseJSON = leases.map { #""\#($0.0)":{"instanceID":"\#($0.0)","expires":"\#($0.1)"}"# }
            .joined(separator: ",")
        let tagJSON = tags.isEmpty ? "" : #","tags":["# + tags.map { "\"\($0)\"" }.joined(separator: ",") + "]"
        let lock = #"{"name":"\#(name)","lockType":"mutex","leases":{\#(leaseJSON)}\#(tagJSON)}"#
        let object: [String: Any] = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": [
                "name": "lockheed-\(name)", "namespace": namespace, "labels": ["lockheed/lock": name],
                "annotations": annotations,
            ],
            "data": ["lock": lock],
        ]
        return try! JSONSerialization.data(withJSONObject: object)
    }

    func setUp() async throws -> (KubernetesAPIServerDouble, String, KubernetesLocker) {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        return (
            server, namespace, try KubernetesLocker(configuration: doubleConfiguration(server, namespace: namespace))
        )
    }

    @Test func aLiveGoLeaseIsHonouredAndReadWithItsTags() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        let expires = "2099-06-01T12:00:00.123456789+02:00"
        try server.seedConfigMap(
            namespace: namespace,
            json: Self.goConfigMap(name: "report", namespace: namespace, leases: [("go-pod", expires)], tags: ["go"]))
        let name = try LockName("report")
        let error = await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(10)))
        }
        let holders = error?.holders ?? []
        guard error?.code == .held else {
            Issue.record("expected held, got \(String(describing: error))")
            return
        }
        #expect(holders.map(\.holder) == ["go-pod"])
        #expect(holders.first?.expiresAt == RFC3339.parse(expires))
        let listed = try await locker.list(matching: .heldBy("go-pod"))
        #expect(listed.map(\.name) == [name])
        #expect(listed.first?.tags == ["go"])
    }

    @Test func anExpiredGoLeaseIsTakenOverAndTheResultStaysReadableByGo() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        try server.seedConfigMap(
            namespace: namespace,
            json: Self.goConfigMap(
                name: "old", namespace: namespace, leases: [("go-pod", "2020-01-01T00:00:00Z")], tags: ["keep"]))
        let name = try LockName("old")
        let seeded = try #require(server.configMap(namespace: namespace, name: "lockheed-old"))
        let revision = try #require(ConfigMapObject(json: seeded)?.revision)
        let lease = try await locker.acquire(
            AcquireRequest(name: name, holder: "swift", duration: .seconds(30), tags: ["new"]))
        #expect(lease.fencingToken == revision + 1, "no counter yet: the token starts above the object's revision")
        let stored = try #require(server.configMap(namespace: namespace, name: "lockheed-old"))
        let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        let labels = (object["metadata"] as? [String: Any])?["labels"] as? [String: String]
        #expect(labels?["lockheed/lock"] == "old")
        let text = try #require((object["data"] as? [String: String])?["lock"])
        // Decode with the Go struct's fields only, as Go's json.Unmarshal would.
        struct GoLease: Decodable {
            var instanceID: String
            var expires: String
        }
        struct GoLock: Decodable {
            var name: String
            var lockType: String
            var leases: [String: GoLease]
            var tags: [String]?
        }
        let go = try JSONDecoder().decode(GoLock.self, from: Data(text.utf8))
        #expect(go.name == "old" && go.lockType == "mutex")
        #expect(Array(go.leases.keys) == ["swift"] && go.leases["swift"]?.instanceID == "swift")
        let goExpiryText = try #require(go.leases["swift"]?.expires)
        let goExpiry = try #require(RFC3339.parse(goExpiryText))
        #expect(abs(goExpiry.timeIntervalSinceNow - 30) < 5)
        #expect(go.tags == ["keep", "new"])
        #expect(try await locker.release(name, holder: "swift"))
    }

    @Test func aGoInfiniteLeaseNeverExpires() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        try server.seedConfigMap(
            namespace: namespace,
            json: Self.goConfigMap(name: "forever", namespace: namespace, leases: [("go-pod", "9999-12-31T23:59:59Z")]))
        let state = try #require(try await locker.state(of: LockName("forever")))
        #expect(state.leases.first?.expiresAt == nil)
        await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: LockName("forever"), holder: "swift", duration: .seconds(5)))
        }
    }

    @Test func aLiveGoReservationMeansBusy() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        let until = RFC3339.format(Date().addingTimeInterval(60))
        try server.seedConfigMap(
            namespace: namespace,
            json: Self.goConfigMap(
                name: "reserved", namespace: namespace, leases: [],
                annotations: ["reserved/by": "go-pod", "reserved/expires": until]))
        let name = try LockName("reserved")
        let error = await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(10)))
        }
        #expect(error?.isTransient == true)
        // Once the reservation has expired the lock is free.
        server.mutateConfigMap(namespace: namespace, name: "lockheed-reserved") { object in
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            metadata["annotations"] = [
                "reserved/by": "go-pod", "reserved/expires": RFC3339.format(Date().addingTimeInterval(-1)),
            ]
            object["metadata"] = metadata
        }
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(10)))
        let stored = try #require(server.configMap(namespace: namespace, name: "lockheed-reserved"))
        let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        let annotations = (object["metadata"] as? [String: Any])?["annotations"] as? [String: String]
        #expect(annotations?["reserved/by"] == "go-pod", "fields we do not own are kept")
    }
}
