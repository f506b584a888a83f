import Foundation
import KubernetesAPIDouble
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("kubeconfig tls-server-name")
struct TLSServerNameTests {
    /// The double serves a certificate for `kube-apiserver.test` only, while we connect to 127.0.0.1.
    @Test func theCertificateIsVerifiedAgainstTheServerName() async throws {
        let material = try KubernetesAPIServerDouble.TLS.generateForTests(serverDNSNames: ["kube-apiserver.test"])
        let server = try await KubernetesAPIServerDouble.start(tls: material.tls)
        defer { Task { try? await server.shutdown() } }
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        func locker(serverName: String?) throws -> KubernetesLocker {
            var tls = KubernetesConfiguration.TLSOptions(certificateAuthorityPEM: Array(material.caPEM.utf8))
            tls.serverName = serverName
            var configuration = KubernetesConfiguration(
                server: server.baseURL, namespace: namespace, authentication: .bearerToken("test-token"), tls: tls)
            configuration.maxAttempts = 1
            return try KubernetesLocker(configuration: configuration)
        }

        let named = try locker(serverName: "kube-apiserver.test")
        _ = try await named.acquire(AcquireRequest(name: LockName("tls-name"), holder: "a", duration: .seconds(30)))
        #expect(try await named.state(of: LockName("tls-name"))?.leases.map(\.holder) == ["a"])

        for wrong in ["wrong.test", nil] {
            let mismatched = try locker(serverName: wrong)
            let error = await #expect(throws: LockheedError.self) {
                try await mismatched.state(of: LockName("tls-name"))
            }
            let message = error?.message ?? ""
            guard error?.code == .unavailable else {
                Issue.record("a certificate for another name must fail, got \(String(describing: error))")
                await mismatched.shutdown()
                continue
            }
            #expect(message.contains("not valid for \"\(wrong ?? "127.0.0.1")\""), "\(message)")
            await mismatched.shutdown()
        }
        await named.shutdown()
    }

    @Test func theServerURLKeepsItsPortAndPathWithTheName() throws {
        let (url, host) = try KubernetesAPI.replacingHost(of: "https://10.0.0.1:6443/base", with: "api.internal")
        #expect(url == "https://api.internal:6443/base" && host == "10.0.0.1")
        let (v6, v6Host) = try KubernetesAPI.replacingHost(of: "https://[::1]:6443", with: "api.internal")
        #expect(v6 == "https://api.internal:6443" && v6Host == "::1")
        #expect(throws: LockheedError.self) { try KubernetesAPI.replacingHost(of: "https://h", with: "bad name/") }
    }
}
