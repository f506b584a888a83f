import Foundation
import LockheedCore

extension KubernetesConfiguration {
    /// The configuration of a pod's service account, like client-go's `rest.InClusterConfig`:
    /// `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`, the token (read again
    /// whenever it rotates), the CA bundle and the pod's namespace from
    /// `/var/run/secrets/kubernetes.io/serviceaccount`.
    public static func inCluster(prefix: String = "lockheed") throws(LockheedError) -> KubernetesConfiguration {
        try inCluster(
            prefix: prefix, environment: ProcessInfo.processInfo.environment,
            serviceAccountDirectory: "/var/run/secrets/kubernetes.io/serviceaccount")
    }

    /// ``inCluster(prefix:)`` with the environment and the secret directory given (for tests).
    static func inCluster(
        prefix: String, environment: [String: String], serviceAccountDirectory directory: String
    ) throws(LockheedError) -> KubernetesConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw .invalidConfiguration(
                "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
        }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw .invalidConfiguration("cannot read the service account token \(tokenPath)")
        }
        guard let ca = FileManager.default.contents(atPath: directory + "/ca.crt") else {
            throw .invalidConfiguration("cannot read the service account CA bundle \(directory)/ca.crt")
        }
        guard let namespaceData = FileManager.default.contents(atPath: directory + "/namespace"),
            let namespace = String(data: namespaceData, encoding: .utf8)?.trimmingCharacters(
                in: .whitespacesAndNewlines),
            !namespace.isEmpty
        else {
            throw .invalidConfiguration("cannot read the pod's namespace from \(directory)/namespace")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        let configuration = KubernetesConfiguration(
            server: "https://\(hostPart):\(port)", namespace: namespace, prefix: prefix,
            authentication: .bearerTokenFile(tokenPath), tls: TLSOptions(certificateAuthorityPEM: Array(ca)))
        try configuration.validate()
        return configuration
    }
}
