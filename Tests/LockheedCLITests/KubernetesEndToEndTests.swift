import Foundation
import KubernetesAPIDouble
import LockheedConformance
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The command against the Kubernetes API-server double, configured through a kubeconfig file.
@Suite(.serialized, .timeSensitive) struct KubernetesEndToEndTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    @Test func execAndListThroughAKubeconfig() async throws {
        let server = try await KubernetesAPIServerDouble.start()
        do { try await flow(on: server) } catch {
            try? await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    private func flow(on server: KubernetesAPIServerDouble) async throws {
        server.createNamespace("team-a")
        let config = try directory.writeKubeconfig(server: server.baseURL)
        let backend = ["--backend", "kubernetes://team-a?kubeconfig=\(config)&prefix=cli"]
        let started = directory.path("started")
        // The holder runs until the test lets it go: a fixed sleep ended before the refused
        // command even started when the machine was loaded (a full parallel `swift test`).
        let letGo = directory.path("let-go")
        defer { _ = FileManager.default.createFile(atPath: letGo, contents: nil) }
        let holder = try CLIProcess.start(
            ["exec", "--tag", "k8s", "--holder", "pod-1", "--renew-interval", "300ms"] + backend
                + ["deploy", "--", "sh", "-c", "touch \(started); while [ ! -f \(letGo) ]; do sleep 0.05; done"],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { FileManager.default.fileExists(atPath: started) })
        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["deploy", "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("pod-1"))
        let json = try await CLIProcess.run(
            ["list", "--where", "tags contains k8s", "--format", "json"] + backend, in: directory.url)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout.contains("\"deploy\""))
        #expect(server.configMap(namespace: "team-a", name: "cli-deploy") != nil)
        _ = FileManager.default.createFile(atPath: letGo, contents: nil)
        let holderResult = await holder.finish()
        #expect(holderResult.status == 0, "\(holderResult.stderr)")
        let after = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["deploy", "--", "true"], in: directory.url)
        #expect(after.status == 0, "\(after.stderr)")

        let namespaceFlag = try await CLIProcess.run(
            ["list", "--namespace", "team-a", "--backend", "kubernetes://default?kubeconfig=\(config)&prefix=cli"],
            in: directory.url)
        #expect(namespaceFlag.stdout.contains("deploy"), "\(namespaceFlag.stderr)")
    }

    @Test func inClusterOutsideAPodIsAConfigurationError() async throws {
        let run = try await CLIProcess.run(
            ["list", "--backend", "kubernetes:"], in: directory.url,
            environment: ["KUBERNETES_SERVICE_HOST": "", "KUBERNETES_SERVICE_PORT": ""])
        #expect(run.status == 64)
        #expect(run.stderr.contains("not running in a Kubernetes pod"))
    }
}
