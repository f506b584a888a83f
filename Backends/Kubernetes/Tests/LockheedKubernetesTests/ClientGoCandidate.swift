import Foundation
import LockheedCore

@testable import LockheedKubernetes

/// client-go v0.23's `LeaderElector.tryAcquireOrRenew` over a `resourcelock.LeaseLock`, re-stated
/// for tests (the rules in `reference/client-go-lease/README.md`): it takes the Lease when it is
/// absent, when its holder is empty or itself, or when this candidate's own clock passed the time
/// it last saw the record change plus its own lease duration. It never reads `renewTime` or
/// `leaseDurationSeconds` for that.
struct ClientGoCandidate {
    /// The five fields client-go reads and writes (`LeaderElectionRecord`).
    struct Record: Equatable {
        var holderIdentity: String
        var leaseDurationSeconds: Int
        var acquireTime: String
        var renewTime: String
        var leaseTransitions: Int
    }

    let identity: String
    let leaseDuration: Duration
    let api: KubernetesAPI
    /// The Lease's path, `…/leases/<name>`.
    let path: String
    private(set) var observedRecord: Record?
    private(set) var observedTime = ContinuousClock.now

    init(identity: String, leaseDuration: Duration = .seconds(15), configuration: KubernetesConfiguration, name: String)
        throws
    {
        self.identity = identity
        self.leaseDuration = leaseDuration
        api = try KubernetesAPI(configuration: configuration)
        path = "/apis/coordination.k8s.io/v1/namespaces/\(configuration.namespace)/leases/\(name)"
    }

    /// The record in a Lease's JSON (missing fields as client-go's zero values).
    static func record(_ json: Data) throws -> Record {
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any] ?? [:]
        let spec = object["spec"] as? [String: Any] ?? [:]
        return Record(
            holderIdentity: spec["holderIdentity"] as? String ?? "",
            leaseDurationSeconds: spec["leaseDurationSeconds"] as? Int ?? 0,
            acquireTime: spec["acquireTime"] as? String ?? "", renewTime: spec["renewTime"] as? String ?? "",
            leaseTransitions: spec["leaseTransitions"] as? Int ?? 0)
    }

    /// One attempt: GET, then POST (absent) or PUT (taken or renewed). `true` when it leads.
    mutating func tryAcquireOrRenew() async throws -> Bool {
        let stamp = RFC3339.format(Date())
        let seconds = Int(leaseDuration.components.seconds)
        var next = Record(
            holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: stamp, renewTime: stamp,
            leaseTransitions: 0)
        let current = try await api.send(method: "GET", path: path)
        if current.status == 404 {
            let name = String(path.split(separator: "/").last ?? "")
            let body: [String: Any] = [
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": ["name": name],
                "spec": Self.spec(next),
            ]
            let collection = String(path.dropLast(name.count + 1))
            let created = try await api.send(
                method: "POST", path: collection, body: try JSONSerialization.data(withJSONObject: body))
            guard created.status == 201 else { return false }
            (observedRecord, observedTime) = (next, .now)
            return true
        }
        guard current.status == 200 else { return false }
        let old = try Self.record(current.body)
        if old != observedRecord { (observedRecord, observedTime) = (old, .now) }
        if !old.holderIdentity.isEmpty, observedTime + leaseDuration > .now, old.holderIdentity != identity {
            return false
        }
        if old.holderIdentity == identity {
            next.acquireTime = old.acquireTime
            next.leaseTransitions = old.leaseTransitions
        } else {
            next.leaseTransitions = old.leaseTransitions + 1
        }
        var object = try JSONSerialization.jsonObject(with: current.body) as? [String: Any] ?? [:]
        object["spec"] = Self.spec(next)
        let updated = try await api.send(
            method: "PUT", path: path, body: try JSONSerialization.data(withJSONObject: object))
        guard updated.status == 200 else { return false }
        (observedRecord, observedTime) = (next, .now)
        return true
    }

    private static func spec(_ record: Record) -> [String: Any] {
        [
            "holderIdentity": record.holderIdentity, "leaseDurationSeconds": record.leaseDurationSeconds,
            "acquireTime": record.acquireTime, "renewTime": record.renewTime,
            "leaseTransitions": record.leaseTransitions,
        ]
    }

    func shutdown() async { await api.shutdown() }
}
