import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("KubernetesLease wire: requests, the double's validation, errors", .timeSensitive)
struct KubernetesLeaseWireTests {
    /// A Lease locker on a fresh namespace of a new API-server double, the double, and the namespace.
    private func leaseLockerOnANewDouble() async throws -> (KubernetesAPIServerDouble, KubernetesLocker, String) {
        let server = try await KubernetesAPIServerDouble.start()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        var configuration = doubleConfiguration(server, namespace: namespace)
        configuration.kind = .lease
        return (server, try KubernetesLocker(configuration: configuration), namespace)
    }

    @Test func acquireIsGetPlusPutAndRenewReleaseAreOnePut() async throws {
        let (server, locker, _) = try await leaseLockerOnANewDouble()
        defer { Task { try? await server.shutdown() } }
        defer { Task { await locker.shutdown() } }
        let name = try LockName("budget")

        // A Lease not yet stored: GET (404), a List of at most one item (the etcd revision), POST.
        server.resetCounters()
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        #expect(server.requestCount("GET", resource: .leases) == 1)
        #expect(server.requestCount("LIST", resource: .leases) == 1)
        #expect(server.requestCount("POST", resource: .leases) == 1)
        #expect(server.requestCount() == 3, "no ConfigMap request")
        #expect(try await locker.release(name, holder: "a"))

        server.resetCounters()
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
        #expect(server.requestCount() == 2)
        #expect(
            server.requestCount("GET", resource: .leases) == 1 && server.requestCount("PUT", resource: .leases) == 1)

        server.resetCounters()
        _ = try await locker.renew(name, holder: "b", duration: .seconds(30))
        #expect(server.requestCount() == 1 && server.requestCount("PUT", resource: .leases) == 1)

        server.resetCounters()
        #expect(try await locker.release(name, holder: "b"))
        #expect(server.requestCount() == 1 && server.requestCount("PUT", resource: .leases) == 1)
    }

    /// The spellings `reference/client-go-lease/microtime-formats.txt` records from a real
    /// kube-apiserver v1.23.16.
    @Test(
        arguments: [
            ("2026-01-01T00:00:00.123456Z", "2026-01-01T00:00:00.123456Z"),
            ("2026-01-01T01:00:00.123456+01:00", "2026-01-01T00:00:00.123456Z"),
            ("2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z"),
            ("2026-01-01T00:00:00Z", nil), ("2026-01-01T00:00:00.123Z", nil), ("2026-01-01T00:00:00.1234567Z", nil),
            ("2026-01-01T00:00:00.123456789Z", nil), ("2026-01-01 00:00:00.123456Z", nil),
        ] as [(String, String?)])
    func theDoubleParsesMicroTimeAsTheAPIServerDoes(_ sent: String, _ stored: String?) async throws {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let api = try KubernetesAPI(configuration: doubleConfiguration(server, namespace: namespace))
        defer { Task { await api.shutdown() } }
        let body: [String: Any] = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": "times"],
            "spec": ["holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": sent, "acquireTime": sent],
        ]
        let response = try await api.send(
            method: "POST", path: "/apis/coordination.k8s.io/v1/namespaces/\(namespace)/leases",
            body: try JSONSerialization.data(withJSONObject: body))
        if let stored {
            #expect(response.status == 201)
            let spec = try storedLeaseSpec(server, namespace, "times")
            #expect(spec["renewTime"] as? String == stored && spec["acquireTime"] as? String == stored)
        } else {
            #expect(response.status == 400)
            #expect(response.apiStatus.message?.contains("parsing time") == true)
        }
    }

    @Test(arguments: [("leaseDurationSeconds", 0), ("leaseDurationSeconds", -1), ("leaseTransitions", -1)])
    func theDoubleRejectsInvalidSpecFields(_ field: String, _ value: Int) async throws {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let api = try KubernetesAPI(configuration: doubleConfiguration(server, namespace: namespace))
        defer { Task { await api.shutdown() } }
        let body: [String: Any] = [
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": "invalid"],
            "spec": ["holderIdentity": "a", field: value],
        ]
        let response = try await api.send(
            method: "POST", path: "/apis/coordination.k8s.io/v1/namespaces/\(namespace)/leases",
            body: try JSONSerialization.data(withJSONObject: body))
        #expect(response.status == 422)
        #expect(response.apiStatus.message?.contains("spec.\(field)") == true)
    }

    @Test func aStaleResourceVersionIsAConflictAndWatchesSeeLeases() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        let name = try LockName("watched")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        let json = try #require(server.lease(namespace: configuration.namespace, name: "lockheed-watched"))
        // Another writer moves the version on: our cached PUT meets 409, re-reads, and renews.
        server.mutateLease(namespace: configuration.namespace, name: "lockheed-watched") { object in
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            metadata["annotations"] = ["example.com/touched": "yes"]
            object["metadata"] = metadata
        }
        let api = try KubernetesAPI(configuration: configuration)
        defer { Task { await api.shutdown() } }
        let stale = try await api.send(method: "PUT", path: "\(locker.collectionPath)/lockheed-watched", body: json)
        #expect(stale.status == 409)
        _ = try await locker.renew(name, holder: "a", duration: .seconds(30))

        // A waiter on the Lease wakes on another process's release (a watch event), long before its timeout.
        let other = try KubernetesLocker(configuration: configuration)
        defer { Task { await other.shutdown() } }
        _ = try? await other.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
        let since = ContinuousClock.now
        async let woke: Void = other.waitForChange(of: name, since: since, timeout: .seconds(20))
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await locker.release(name, holder: "a"))
        try await woke
        #expect(ContinuousClock.now - since < .seconds(10))
        let listed = try await other.list(matching: nil)
        #expect(listed.map(\.name.rawValue) == ["watched"], "listed by label selector")
    }

    @Test func forbiddenNamesTheLeasesVerbAndSharedLocksAreRefused() async throws {
        let (server, locker, namespace) = try await leaseLockerOnANewDouble()
        defer { Task { try? await server.shutdown() } }
        defer { Task { await locker.shutdown() } }
        #expect(!locker.capabilities.contains(.sharedLocks))
        let shared = try await lockheedError {
            try await locker.acquire(
                AcquireRequest(
                    name: try LockName("s"), holder: "a", type: .shared(maxHolders: 2), duration: .seconds(30)))
        }
        #expect("\(shared)".contains("kind=lease"), "\(shared)")

        server.setForbidden(verb: "update", resource: "leases", namespace: namespace)
        _ = try await locker.acquire(AcquireRequest(name: try LockName("rbac"), holder: "a", duration: .seconds(30)))
        let forbidden = try await lockheedError {
            try await locker.renew(LockName("rbac"), holder: "a", duration: .seconds(30))
        }
        #expect("\(forbidden)".contains("\"update\" on resource \"leases\""), "\(forbidden)")
    }
}

@Suite("typed wire models keep what other tools wrote")
struct KubernetesWireModelTests {
    @Test func unknownConfigMapFieldsSurviveAcquireAndRelease() async throws {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let seeded: [String: Any] = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": [
                "name": "lockheed-kept", "labels": ["lockheed/lock": "", "app": "web"],
                "annotations": ["example.com/owner": "team-a"],
                "ownerReferences": [["apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "u-1"]],
            ],
            "data": ["lock": #"{"name":"kept","lockType":"mutex","leases":{}}"#, "other-tool.conf": "x=1"],
            "binaryData": ["blob": "AAEC"],
        ]
        try server.seedConfigMap(namespace: namespace, json: try JSONSerialization.data(withJSONObject: seeded))
        let locker = try KubernetesLocker(configuration: doubleConfiguration(server, namespace: namespace))
        defer { Task { await locker.shutdown() } }
        let name = try LockName("kept")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        #expect(try await locker.release(name, holder: "a"))
        let json = try #require(server.configMap(namespace: namespace, name: "lockheed-kept"))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        #expect((metadata["annotations"] as? [String: String])?["example.com/owner"] == "team-a")
        #expect((metadata["labels"] as? [String: String])?["app"] == "web")
        #expect((metadata["ownerReferences"] as? [[String: Any]])?.first?["uid"] as? String == "u-1")
        #expect((object["data"] as? [String: String])?["other-tool.conf"] == "x=1")
        #expect((object["binaryData"] as? [String: String])?["blob"] == "AAEC")
    }
}
