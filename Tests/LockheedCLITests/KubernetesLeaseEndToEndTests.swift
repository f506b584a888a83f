import Foundation
import KubernetesAPIDouble
import LockheedConformance
import Testing

/// `lockheed exec --backend 'kubernetes://NS?kind=lease'` against the API-server double: the lock
/// is a `coordination.k8s.io/v1` Lease as client-go's leader election writes it.
@Suite(.serialized, .timeSensitive) struct KubernetesLeaseEndToEndTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    @Test func execHoldsALeaseAndReleasesItAsClientGoDoes() async throws {
        let server = try await KubernetesAPIServerDouble.start()
        do { try await flow(on: server) } catch {
            try? await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    private func spec(_ server: KubernetesAPIServerDouble) throws -> [String: Any] {
        let json = try #require(server.lease(namespace: "team-a", name: "cli-deploy"))
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        return object["spec"] as? [String: Any] ?? [:]
    }

    private func flow(on server: KubernetesAPIServerDouble) async throws {
        server.createNamespace("team-a")
        let config = try directory.writeKubeconfig(server: server.baseURL)
        let backend = ["--backend", "kubernetes://team-a?kubeconfig=\(config)&prefix=cli&kind=lease"]
        try await ExecHandOff(
            backend: backend, directory: directory, lock: "deploy", holder: "pod-1", tag: "k8s",
            holderOptions: ["--duration", "20s", "--renew-interval", "300ms"]
        ).run {
            let held = try spec(server)
            #expect(held["holderIdentity"] as? String == "pod-1")
            #expect(held["leaseDurationSeconds"] as? Int == 20)
            #expect(server.configMap(namespace: "team-a", name: "cli-deploy") == nil, "no ConfigMap")
        }
        let released = try spec(server)
        #expect(released["holderIdentity"] as? String == "")
        #expect(released["leaseDurationSeconds"] as? Int == 1)
        let after = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["deploy", "--", "true"], in: directory.url)
        #expect(after.status == 0, "\(after.stderr)")
        // pod-1, then the waiting second command, then this one: two changes of holder.
        #expect(try spec(server)["leaseTransitions"] as? Int == 2, "a new holder after a release is a transition")
    }
}
