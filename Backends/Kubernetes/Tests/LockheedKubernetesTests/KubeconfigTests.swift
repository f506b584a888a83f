import Foundation
import LockheedCore
import Testing

@testable import LockheedKubernetes

/// A temporary directory removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("lockheed-k8s-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

private func kubeconfig(users: String, contexts: String? = nil, current: String = "main") -> String {
    """
    apiVersion: v1
    kind: Config
    current-context: \(current)
    clusters:
    - name: prod
      cluster:
        server: https://10.1.2.3:6443
        certificate-authority-data: \(Data("CA-PEM".utf8).base64EncodedString())
    - name: lab
      cluster:
        server: https://lab.example:443/
        certificate-authority: ca.crt
        insecure-skip-tls-verify: true
    contexts:
    \(contexts ?? """
    - name: main
      context:
        cluster: prod
        user: alice
        namespace: locks
    - name: lab
      context:
        cluster: lab
        user: bob
    """)
    users:
    \(users)
    """
}

@Suite("kubeconfig and in-cluster configuration")
struct KubeconfigTests {
    @Test func tokenUserAndCAData() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try dir.write(
            "config",
            kubeconfig(
                users: """
                    - name: alice
                      user:
                        token: s3cret-token
                    - name: bob
                      user:
                        tokenFile: token.txt
                    """))
        let config = try KubernetesConfiguration.kubeconfig(path: file)
        #expect(config.server == "https://10.1.2.3:6443")
        #expect(config.namespace == "locks")
        #expect(config.prefix == "lockheed")
        #expect(config.authentication == .bearerToken("s3cret-token"))
        #expect(config.tls.certificateAuthorityPEM == Array("CA-PEM".utf8))
        #expect(!config.tls.insecureSkipVerify)
        #expect(!"\(config)".contains("s3cret"), "the token must never be printed")
        var dumped = ""
        dump(config, to: &dumped)
        #expect(!dumped.contains("s3cret"), "nor dumped")
    }

    @Test func tokenFileAndRelativePathsAndNamespaceOverride() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        _ = try dir.write("ca.crt", "LAB-CA")
        let file = try dir.write(
            "config",
            kubeconfig(
                users: """
                    - name: alice
                      user:
                        token: a
                    - name: bob
                      user:
                        tokenFile: token.txt
                    """))
        let config = try KubernetesConfiguration.kubeconfig(path: file, context: "lab", namespace: "ops", prefix: "app")
        #expect(config.server == "https://lab.example:443/")
        #expect(config.baseURL == "https://lab.example:443")
        #expect(config.namespace == "ops")
        #expect(config.prefix == "app")
        #expect(config.authentication == .bearerTokenFile(dir.path + "/token.txt"))
        #expect(config.tls.certificateAuthorityPEM == Array("LAB-CA".utf8))
        #expect(config.tls.insecureSkipVerify)
        let defaulted = try KubernetesConfiguration.kubeconfig(path: file, context: "lab")
        #expect(defaulted.namespace == "default")
    }

    @Test func clientCertificateDataAndFileForms() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        _ = try dir.write("ca.crt", "LAB-CA")
        _ = try dir.write("bob.crt", "BOB-CERT")
        _ = try dir.write("bob.key", "BOB-KEY")
        let file = try dir.write(
            "config",
            kubeconfig(
                users: """
                    - name: alice
                      user:
                        client-certificate-data: \(Data("ALICE-CERT".utf8).base64EncodedString())
                        client-key-data: \(Data("ALICE-KEY".utf8).base64EncodedString())
                    - name: bob
                      user:
                        client-certificate: bob.crt
                        client-key: \(dir.path)/bob.key
                    """))
        let alice = try KubernetesConfiguration.kubeconfig(path: file)
        #expect(alice.authentication == .none)
        #expect(alice.tls.clientCertificatePEM == Array("ALICE-CERT".utf8))
        #expect(alice.tls.clientKeyPEM == Array("ALICE-KEY".utf8))
        #expect(!"\(alice)".contains("ALICE-KEY"))
        let bob = try KubernetesConfiguration.kubeconfig(path: file, context: "lab")
        #expect(bob.tls.clientCertificatePEM == Array("BOB-CERT".utf8))
        #expect(bob.tls.clientKeyPEM == Array("BOB-KEY".utf8))
    }

    @Test func missingContextIsNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let file = try dir.write("config", kubeconfig(users: "- name: alice\n  user:\n    token: a"))
        let error = #expect(throws: LockheedError.self) {
            try KubernetesConfiguration.kubeconfig(path: file, context: "nope")
        }
        #expect(error == .invalidConfiguration("context \"nope\" is not defined in the kubeconfig"))
        let noCurrent = try dir.write("empty", kubeconfig(users: "[]", current: "\"\""))
        #expect(throws: LockheedError.self) { try KubernetesConfiguration.kubeconfig(path: noCurrent) }
        #expect(throws: LockheedError.self) { try KubernetesConfiguration.kubeconfig(path: dir.path + "/absent") }
    }

    @Test func unsupportedAuthMethodsAreNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let exec = try dir.write(
            "exec",
            kubeconfig(
                users: """
                    - name: alice
                      user:
                        exec:
                          apiVersion: client.authentication.k8s.io/v1
                          command: aws-iam-authenticator
                          args: ["token", "-i", "cluster"]
                    """))
        let execError = #expect(throws: LockheedError.self) { try KubernetesConfiguration.kubeconfig(path: exec) }
        let message = execError?.message ?? ""
        guard execError?.code == .invalidConfiguration else {
            Issue.record("expected invalidConfiguration, got \(String(describing: execError))")
            return
        }
        #expect(message.contains("exec plugin") && message.contains("aws-iam-authenticator"))
        let provider = try dir.write(
            "provider",
            kubeconfig(users: "- name: alice\n  user:\n    auth-provider:\n      name: gcp\n      config: {}"))
        let providerError = #expect(throws: LockheedError.self) {
            try KubernetesConfiguration.kubeconfig(path: provider)
        }
        let providerMessage = providerError?.message ?? ""
        guard providerError?.code == .invalidConfiguration else {
            Issue.record("expected invalidConfiguration")
            return
        }
        #expect(providerMessage.contains("auth-provider \"gcp\""))
    }

    @Test func kubeconfigEnvironmentListMergesFirstWins() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let first = try Kubeconfig(
            yaml: kubeconfig(users: "- name: alice\n  user:\n    token: first"), file: "/a/config")
        let second = try Kubeconfig(
            yaml: kubeconfig(users: "- name: alice\n  user:\n    token: second", current: "lab"), file: "/b/config")
        var merged = first
        merged.merge(second)
        let config = try merged.configuration(context: nil, namespace: nil, prefix: "lockheed")
        #expect(config.authentication == .bearerToken("first"))
        #expect(
            try Kubeconfig.paths(explicit: nil, environment: ["KUBECONFIG": "/x:/y", "HOME": "/h"]) == ["/x", "/y"])
        #expect(try Kubeconfig.paths(explicit: nil, environment: ["HOME": "/h"]) == ["/h/.kube/config"])
    }

    @Test func inClusterReadsTheServiceAccount() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        _ = try dir.write("token", "sa-token\n")
        _ = try dir.write("ca.crt", "CLUSTER-CA")
        _ = try dir.write("namespace", "team-a\n")
        let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        let config = try KubernetesConfiguration.inCluster(
            prefix: "jobs", environment: environment, serviceAccountDirectory: dir.path)
        #expect(config.server == "https://10.96.0.1:443")
        #expect(config.namespace == "team-a")
        #expect(config.prefix == "jobs")
        #expect(config.authentication == .bearerTokenFile(dir.path + "/token"))
        #expect(config.tls.certificateAuthorityPEM == Array("CLUSTER-CA".utf8))
        let v6 = try KubernetesConfiguration.inCluster(
            prefix: "lockheed", environment: ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"],
            serviceAccountDirectory: dir.path)
        #expect(v6.server == "https://[fd00::1]:443")
        #expect(throws: LockheedError.self) {
            try KubernetesConfiguration.inCluster(
                prefix: "lockheed", environment: [:], serviceAccountDirectory: dir.path)
        }
    }

    @Test func rotatedTokenFileIsReadAgain() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = try dir.write("token", "one")
        let source = try #require(TokenSource(.bearerTokenFile(path)))
        #expect(try source.token() == "one")
        // The kubelet swaps the file atomically (a new inode).
        _ = try dir.write("token.new", "two")
        _ = rename(dir.path + "/token.new", path)
        #expect(try source.token() == "two")
    }

    @Test func invalidSettingsAreRejected() throws {
        var config = KubernetesConfiguration(server: "ftp://x", namespace: "ns")
        #expect(throws: LockheedError.self) { try KubernetesLocker(configuration: config) }
        config.server = "http://127.0.0.1:1"
        config.prefix = "Bad_Prefix"
        #expect(throws: LockheedError.self) { try KubernetesLocker(configuration: config) }
        config.prefix = "lockheed"
        config.tls.clientCertificatePEM = Array("x".utf8)
        #expect(throws: LockheedError.self) { try KubernetesLocker(configuration: config) }
    }
}
