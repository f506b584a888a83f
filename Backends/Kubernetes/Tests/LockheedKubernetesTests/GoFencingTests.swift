import Foundation
import KubernetesAPIDouble
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("fencing tokens across writes by the Go original")
struct GoFencingTests {
    func setUp() async throws -> (KubernetesAPIServerDouble, KubernetesConfiguration, KubernetesLocker, KubernetesAPI) {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let configuration = doubleConfiguration(server, namespace: namespace)
        return (
            server, configuration, try KubernetesLocker(configuration: configuration),
            try KubernetesAPI(configuration: configuration)
        )
    }

    @Test func aGoAcquireAndReleaseNeverLowersTheNextToken() async throws {
        let (_, _, locker, api) = try await setUp()
        defer {
            Task {
                await locker.shutdown()
                await api.shutdown()
            }
        }
        let name = try LockName("mixed")
        var tokens: [UInt64] = []
        for holder in ["a", "b", "c"] {
            tokens.append(
                try await locker.acquire(AcquireRequest(name: name, holder: holder, duration: .seconds(30)))
                    .fencingToken)
            #expect(try await locker.release(name, holder: holder))
        }
        // The Go client's Acquire, then its Release: two round trips through its own fields.
        let expires = RFC3339.format(Date().addingTimeInterval(30))
        try await GoClient.write(api, configMap: "lockheed-mixed") { lock in
            lock.leases = ["go-pod": GoClient.Lease(instanceID: "go-pod", expires: expires)]
        }
        try await GoClient.write(api, configMap: "lockheed-mixed") { lock in lock.leases = [:] }
        let next = try await locker.acquire(AcquireRequest(name: name, holder: "d", duration: .seconds(30)))
        #expect(tokens.allSatisfy { $0 < next.fencingToken }, "\(next.fencingToken) after \(tokens)")
        #expect(try await locker.state(of: name)?.fencingCounter == next.fencingToken)
    }

    @Test func aRecordWeWroteRoundTripsThroughGoWithoutLosingALeaseOrAToken() async throws {
        let (server, configuration, locker, api) = try await setUp()
        defer {
            Task {
                await locker.shutdown()
                await api.shutdown()
            }
        }
        let name = try LockName("kept")
        let first = try await locker.acquire(
            AcquireRequest(name: name, holder: "a", type: .shared(maxHolders: 3), duration: .seconds(30)))
        let second = try await locker.acquire(
            AcquireRequest(name: name, holder: "b", type: .shared(maxHolders: 3), duration: .seconds(30)))
        let before = try #require(try await locker.state(of: name))

        try await GoClient.write(api, configMap: "lockheed-kept")  // Go changes nothing, yet drops our fields
        let stored = try #require(server.configMap(namespace: configuration.namespace, name: "lockheed-kept"))
        let text = try #require(ConfigMapObject(json: stored)?.lockText)
        #expect(!text.contains("fencingToken") && !text.contains("maxLeases"), "the Go write stripped them: \(text)")

        let reader = try KubernetesLocker(configuration: configuration)
        defer { Task { await reader.shutdown() } }
        let after = try #require(try await reader.state(of: name))
        #expect(after.leases.map(\.holder) == ["a", "b"])
        #expect(after.leases.map(\.fencingToken) == [first.fencingToken, second.fencingToken])
        #expect(after.leases.map(\.acquiredAt) == before.leases.map(\.acquiredAt))
        #expect(after.type == .shared(maxHolders: 3))
        #expect(after.fencingCounter == second.fencingToken)

        // Our next writes put the fields back; a renew keeps the holder's token.
        let renewed = try await reader.renew(name, holder: "a", duration: .seconds(30))
        #expect(renewed.fencingToken == first.fencingToken)
        let third = try await reader.acquire(
            AcquireRequest(name: name, holder: "c", type: .shared(maxHolders: 3), duration: .seconds(30)))
        #expect(third.fencingToken > second.fencingToken)
    }

    @Test func aGoCreatedLockWithoutCounterStartsAboveTheRevision() async throws {
        let (server, configuration, locker, api) = try await setUp()
        defer {
            Task {
                await locker.shutdown()
                await api.shutdown()
            }
        }
        let object: [String: Any] = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": [
                "name": "lockheed-go-made", "namespace": configuration.namespace, "labels": ["lockheed/lock": ""],
            ],
            "data": ["lock": #"{"name":"go-made","lockType":"","leases":null}"#],
        ]
        try server.seedConfigMap(
            namespace: configuration.namespace, json: try JSONSerialization.data(withJSONObject: object))
        let seeded = try #require(server.configMap(namespace: configuration.namespace, name: "lockheed-go-made"))
        let revision = try #require(ConfigMapObject(json: seeded)?.revision)
        let lease = try await locker.acquire(
            AcquireRequest(name: try LockName("go-made"), holder: "a", duration: .seconds(30)))
        #expect(lease.fencingToken == revision + 1)
    }
}
