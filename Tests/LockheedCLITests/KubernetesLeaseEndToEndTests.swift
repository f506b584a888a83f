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
        let started = directory.path("started")
        // The holder runs until the test lets it go: a fixed sleep ended before the refused
        // command even started when the machine was loaded (a full parallel `swift test`).
        let letGo = directory.path("let-go")
        defer { _ = FileManager.default.createFile(atPath: letGo, contents: nil) }
        let holder = try CLIProcess.start(
            ["exec", "--tag", "k8s", "--holder", "pod-1", "--duration", "20s", "--renew-interval", "300ms"] + backend
                + ["deploy", "--", "sh", "-c", "touch \(started); while [ ! -f \(letGo) ]; do sleep 0.05; done"],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { FileManager.default.fileExists(atPath: started) })
        let held = try spec(server)
        #expect(held["holderIdentity"] as? String == "pod-1")
        #expect(held["leaseDurationSeconds"] as? Int == 20)
        #expect(server.configMap(namespace: "team-a", name: "cli-deploy") == nil, "no ConfigMap")
        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["deploy", "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("pod-1"))
        let json = try await CLIProcess.run(
            ["list", "--where", "tags contains k8s", "--format", "json"] + backend, in: directory.url)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout.contains("\"deploy\""))
        _ = FileManager.default.createFile(atPath: letGo, contents: nil)
        let holderResult = await holder.finish()
        #expect(holderResult.status == 0, "\(holderResult.stderr)")
        let released = try spec(server)
        #expect(released["holderIdentity"] as? String == "")
        #expect(released["leaseDurationSeconds"] as? Int == 1)
        let after = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["deploy", "--", "true"], in: directory.url)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(try spec(server)["leaseTransitions"] as? Int == 1, "a new holder after a release is a transition")
    }
}
