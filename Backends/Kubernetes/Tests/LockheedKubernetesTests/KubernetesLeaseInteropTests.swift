import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Testing
import Yams

@testable import LockheedKubernetes

/// A Lease locker on the shared double in a fresh namespace, and that configuration.
func leaseLocker() async throws -> (KubernetesAPIServerDouble, KubernetesConfiguration, KubernetesLocker) {
    let server = try await SharedDouble.get()
    let namespace = freshNamespace()
    server.createNamespace(namespace)
    var configuration = doubleConfiguration(server, namespace: namespace)
    configuration.kind = .lease
    return (server, configuration, try KubernetesLocker(configuration: configuration))
}

/// Seeds a golden client-go record as Lease `lockheed-golden` in `namespace`.
func seedGoldenLease(_ file: String, on server: KubernetesAPIServerDouble, namespace: String) throws {
    let yaml = try #require(ClientGoLeaseRecords.all[file])
    var object = try #require(try Yams.load(yaml: yaml) as? [String: Any])
    var metadata = object["metadata"] as? [String: Any] ?? [:]
    metadata["namespace"] = namespace
    metadata["name"] = "lockheed-golden"
    metadata["resourceVersion"] = nil
    object["metadata"] = metadata
    try server.seedLease(namespace: namespace, json: try JSONSerialization.data(withJSONObject: object))
}

/// `spec` of the stored Lease `name`.
func storedLeaseSpec(_ server: KubernetesAPIServerDouble, _ namespace: String, _ name: String) throws -> [String: Any] {
    let json = try #require(server.lease(namespace: namespace, name: name))
    let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
    return object["spec"] as? [String: Any] ?? [:]
}

/// A MicroTime as the API server writes it: UTC, exactly six fractional digits.
func isMicroTime(_ value: Any?) -> Bool {
    guard let text = value as? String else { return false }
    return text.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$"#, options: .regularExpression) != nil
}

@Suite("KubernetesLease interop with client-go's LeaseLock (golden records)")
struct KubernetesLeaseInteropTests {
    static let golden = "lockheed-golden"

    @Test(arguments: [
        ("01-a-leader-first-acquisition.yaml", "a"), ("02-a-after-two-renewals.yaml", "a"),
        ("03-b-waiting-while-a-leads.yaml", "a"), ("04-b-took-over-after-a-sigkill.yaml", "b"),
        ("05-b-released-on-sigterm.yaml", ""), ("06-c-acquired-after-release.yaml", "c"),
    ])
    func aClientGoRecordIsReadWithItsHolder(_ file: String, _ holder: String) async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease(file, on: server, namespace: configuration.namespace)
        let name = try LockName("golden")
        let state = try #require(try await locker.state(of: name))
        #expect(state.leases.map(\.holder) == (holder.isEmpty ? [] : [holder]))
        if let lease = state.leases.first {
            // Judged by observation: a full 15 s from our first look, whatever renewTime says.
            let remaining = try #require(lease.expiresAt).timeIntervalSinceNow
            #expect(remaining > 5 && remaining <= 15.5, "remaining \(remaining)")
            #expect(lease.fencingToken == 0, "client-go issues no tokens")
        }
    }

    @Test func aLeaseHeldByAClientGoCandidateIsRefusedWithItsHolderAndExpiry() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease("03-b-waiting-while-a-leads.yaml", on: server, namespace: configuration.namespace)
        let name = try LockName("golden")
        let error = try await lockheedError {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        }
        #expect(error.code == .held)
        #expect("\(error)".contains("held by a until"), "\(error)")
        let lease = try #require(try await locker.state(of: name)?.leases.first)
        #expect(lease.holder == "a")
        let remaining = try #require(lease.expiresAt).timeIntervalSinceNow
        #expect(remaining > 5 && remaining <= 15.5)
        #expect(try storedLeaseSpec(server, configuration.namespace, Self.golden)["holderIdentity"] as? String == "a")
    }

    @Test func aClientGoLeaseNotRenewedIsTakenOverAfterItsDurationAsObserved() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease("01-a-leader-first-acquisition.yaml", on: server, namespace: configuration.namespace)
        server.mutateLease(namespace: configuration.namespace, name: Self.golden) { object in
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["leaseDurationSeconds"] = 1
            object["spec"] = spec
        }
        let name = try LockName("golden")
        let request = try AcquireRequest(name: name, holder: "swift", duration: .seconds(30))
        let refused = try await lockheedError { try await locker.acquire(request) }
        #expect(refused.code == .held, "held until observed unchanged for 1 s")
        try await Task.sleep(for: .milliseconds(1200))
        let lease = try await locker.acquire(request)
        #expect(lease.holder == "swift")
        let spec = try storedLeaseSpec(server, configuration.namespace, Self.golden)
        #expect(spec["holderIdentity"] as? String == "swift")
        #expect(spec["leaseTransitions"] as? Int == 1, "a new holder is a transition, as client-go counts")
        #expect(spec["acquireTime"] as? String == spec["renewTime"] as? String)
    }

    @Test func aLeaseWeHoldIsOneClientGoJudgesHeld() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        let name = try LockName("golden")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .milliseconds(20_500)))
        let spec = try storedLeaseSpec(server, configuration.namespace, Self.golden)
        #expect(spec["holderIdentity"] as? String == "swift")
        #expect(spec["leaseDurationSeconds"] as? Int == 21, "whole seconds, rounded up")
        #expect(spec["leaseTransitions"] as? Int == 0, "the first write is no transition")
        #expect(isMicroTime(spec["acquireTime"]) && isMicroTime(spec["renewTime"]))
        #expect(spec["acquireTime"] as? String == spec["renewTime"] as? String)

        var candidate = try ClientGoCandidate(identity: "b", configuration: configuration, name: Self.golden)
        defer { Task { [candidate] in await candidate.shutdown() } }
        #expect(try await candidate.tryAcquireOrRenew() == false, "held by swift")
        let first = try #require(candidate.observedRecord)

        // A renewal changes the record client-go compares, so its observation restarts.
        try await Task.sleep(for: .milliseconds(5))
        _ = try await locker.renew(name, holder: "swift", duration: .seconds(20))
        #expect(try await candidate.tryAcquireOrRenew() == false)
        let second = try #require(candidate.observedRecord)
        #expect(second != first)
        #expect(second.renewTime > first.renewTime && second.acquireTime == first.acquireTime)
        #expect(second.leaseTransitions == 0 && second.leaseDurationSeconds == 20)
    }

    @Test func afterOurReleaseClientGoTakesTheLeaseAtOnce() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease("06-c-acquired-after-release.yaml", on: server, namespace: configuration.namespace)
        server.mutateLease(namespace: configuration.namespace, name: Self.golden) { object in
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["holderIdentity"] = ""
            object["spec"] = spec
        }
        let name = try LockName("golden")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        #expect(try storedLeaseSpec(server, configuration.namespace, Self.golden)["leaseTransitions"] as? Int == 3)
        #expect(try await locker.release(name, holder: "swift"))
        let released = try storedLeaseSpec(server, configuration.namespace, Self.golden)
        #expect(released["holderIdentity"] as? String == "")
        #expect(released["leaseDurationSeconds"] as? Int == 1)
        #expect(released["leaseTransitions"] as? Int == 3, "a release is no transition")
        #expect(released["acquireTime"] as? String == released["renewTime"] as? String)
        #expect(isMicroTime(released["renewTime"]))

        var candidate = try ClientGoCandidate(identity: "c2", configuration: configuration, name: Self.golden)
        defer { Task { [candidate] in await candidate.shutdown() } }
        #expect(try await candidate.tryAcquireOrRenew(), "an empty holder is free at once for client-go")
        #expect(candidate.observedRecord?.leaseTransitions == 4)
        let error = try await lockheedError {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        }
        #expect(error.code == .held)
        #expect(try await locker.state(of: name)?.leases.map(\.holder) == ["c2"])
    }

    @Test func theTokenIsNeverBelowLeaseTransitionsAndNeverRepeats() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease("05-b-released-on-sigterm.yaml", on: server, namespace: configuration.namespace)
        server.mutateLease(namespace: configuration.namespace, name: Self.golden) { object in
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["leaseTransitions"] = 2_000_000_000
            object["spec"] = spec
        }
        let name = try LockName("golden")
        let first = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        #expect(first.fencingToken > 2_000_000_000)
        #expect(try await locker.release(name, holder: "swift"))
        // client-go takes it, then releases it; our annotations survive its writes.
        var candidate = try ClientGoCandidate(identity: "go", configuration: configuration, name: Self.golden)
        defer { Task { [candidate] in await candidate.shutdown() } }
        #expect(try await candidate.tryAcquireOrRenew())
        server.mutateLease(namespace: configuration.namespace, name: Self.golden) { object in
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["holderIdentity"] = ""
            object["spec"] = spec
        }
        let second = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        #expect(second.fencingToken > first.fencingToken)
    }

    @Test func unknownSpecFieldsAnnotationsAndLabelsSurviveAcquireAndRelease() async throws {
        let (server, configuration, locker) = try await leaseLocker()
        defer { Task { await locker.shutdown() } }
        try seedGoldenLease("05-b-released-on-sigterm.yaml", on: server, namespace: configuration.namespace)
        server.mutateLease(namespace: configuration.namespace, name: Self.golden) { object in
            var metadata = object["metadata"] as? [String: Any] ?? [:]
            metadata["annotations"] = ["example.com/owner": "team-a"]
            metadata["labels"] = ["app": "web"]
            metadata["ownerReferences"] = [["apiVersion": "v1", "kind": "Pod", "name": "web-0", "uid": "u-1"]]
            object["metadata"] = metadata
            var spec = object["spec"] as? [String: Any] ?? [:]
            spec["preferredHolder"] = "web-1"
            object["spec"] = spec
        }
        let name = try LockName("golden")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(30)))
        #expect(try await locker.release(name, holder: "swift"))
        let json = try #require(server.lease(namespace: configuration.namespace, name: Self.golden))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        #expect((metadata["annotations"] as? [String: String])?["example.com/owner"] == "team-a")
        #expect((metadata["labels"] as? [String: String])?["app"] == "web")
        #expect((metadata["ownerReferences"] as? [[String: Any]])?.first?["name"] as? String == "web-0")
        #expect((object["spec"] as? [String: Any])?["preferredHolder"] as? String == "web-1")
    }
}
