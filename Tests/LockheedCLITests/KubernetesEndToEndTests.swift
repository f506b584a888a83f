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
        try await ExecHandOff(
            backend: backend, directory: directory, lock: "deploy", holder: "pod-1", tag: "k8s",
            holderOptions: ["--renew-interval", "300ms"]
        ).run {
            #expect(server.configMap(namespace: "team-a", name: "cli-deploy") != nil)
        }
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
