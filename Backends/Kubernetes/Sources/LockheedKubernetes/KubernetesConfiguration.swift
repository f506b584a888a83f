import LockheedCore

/// Where and how a ``KubernetesLocker`` reaches the API server, and where it keeps its locks.
///
/// Build one with ``inCluster(prefix:)`` inside a pod, with
/// ``kubeconfig(path:context:namespace:prefix:)`` from a kubeconfig file, or by hand. Its
/// description never contains a token or a private key.
public struct KubernetesConfiguration: Sendable {
    /// The API server's base URL, e.g. `https://10.0.0.1:443`.
    public var server: String
    /// The namespace holding the lock ConfigMaps.
    public var namespace: String
    /// The object name prefix: lock `job` lives in ConfigMap (or Lease) `<prefix>-job`.
    public var prefix: String = "lockheed"
    /// Which Kubernetes object holds each lock: a ConfigMap (the default, the Go original's
    /// format, shared locks) or a `coordination.k8s.io/v1` Lease (client-go's leader election format).
    public var kind: StorageKind = .configMap
    /// How requests authenticate.
    public var authentication: Authentication
    /// How the TLS connection is verified and which client certificate it presents.
    public var tls: TLSOptions
    /// The longest a single request (not a watch) may take before it is retried.
    public var requestTimeout: Duration = .seconds(10)
    /// How many times a request is sent when the server answers 429/5xx or the connection fails.
    public var maxAttempts: Int = 5
    /// How many times a write is retried after a 409 Conflict from another writer.
    public var maxConflictRetries: Int = 8
    /// How often ``KubernetesLocker/waitForChange(of:since:timeout:)`` polls when watching fails.
    public var pollInterval: Duration = .seconds(2)
    /// The longest a single watch request stays open.
    public var watchTimeout: Duration = .seconds(290)
    /// Identifies the wall clock this process stamps leases with (by default the host's Linux
    /// boot id, shared by every process and container on the host). Leases stamped with the same
    /// identity are judged by their stored expiry; others by observation (see `README.md`).
    public var clockIdentity: String = HostClock.identity

    /// Creates a configuration by hand.
    public init(
        server: String,
        namespace: String,
        prefix: String = "lockheed",
        authentication: Authentication = .none,
        tls: TLSOptions = TLSOptions()
    ) {
        self.server = server
        self.namespace = namespace
        self.prefix = prefix
        self.authentication = authentication
        self.tls = tls
    }

    /// The Kubernetes object kind that holds each lock.
    public enum StorageKind: String, Sendable, Hashable, CaseIterable {
        /// One ConfigMap per lock, wire compatible with the Go original.
        case configMap = "configmap"
        /// One `coordination.k8s.io/v1` Lease per lock, wire compatible with client-go's `LeaseLock`.
        case lease
    }

    /// How requests authenticate to the API server.
    public enum Authentication: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
        /// No credentials (or a client certificate only, see ``TLSOptions``).
        case none
        /// A fixed bearer token.
        case bearerToken(String)
        /// A bearer token read from a file, and read again whenever the file changes (service
        /// account token rotation).
        case bearerTokenFile(String)

        /// The method without the secret.
        public var description: String {
            switch self {
            case .none: "none"
            case .bearerToken: "bearer token (redacted)"
            case .bearerTokenFile(let path): "bearer token file \(path)"
            }
        }

        /// Hides the token from `dump` and debuggers.
        public var customMirror: Mirror { Mirror(self, children: ["method": description]) }
    }

    /// TLS settings for `https` servers.
    public struct TLSOptions: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
        /// PEM certificates trusted to sign the server's certificate (`nil`: system roots).
        public var certificateAuthorityPEM: [UInt8]?
        /// Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`).
        public var insecureSkipVerify: Bool
        /// The client certificate chain, PEM, for mutual TLS.
        public var clientCertificatePEM: [UInt8]?
        /// The client certificate's private key, PEM (PKCS#1 or PKCS#8).
        public var clientKeyPEM: [UInt8]?
        /// The name to verify the server certificate against instead of the URL's host.
        public var serverName: String?

        /// Creates TLS options; the defaults verify the server against the system roots.
        public init(
            certificateAuthorityPEM: [UInt8]? = nil,
            insecureSkipVerify: Bool = false,
            clientCertificatePEM: [UInt8]? = nil,
            clientKeyPEM: [UInt8]? = nil,
            serverName: String? = nil
        ) {
            self.certificateAuthorityPEM = certificateAuthorityPEM
            self.insecureSkipVerify = insecureSkipVerify
            self.clientCertificatePEM = clientCertificatePEM
            self.clientKeyPEM = clientKeyPEM
            self.serverName = serverName
        }

        /// What is configured, without key material.
        public var description: String {
            var parts: [String] = []
            if certificateAuthorityPEM != nil { parts.append("custom CA") }
            if insecureSkipVerify { parts.append("insecure-skip-verify") }
            if clientCertificatePEM != nil { parts.append("client certificate") }
            if let serverName { parts.append("server name \(serverName)") }
            return parts.isEmpty ? "system roots" : parts.joined(separator: ", ")
        }

        /// Hides the private key from `dump` and debuggers.
        public var customMirror: Mirror { Mirror(self, children: ["tls": description]) }
    }
}

extension KubernetesConfiguration: CustomStringConvertible, CustomReflectable {
    /// Server, namespace, prefix and auth method, never a secret.
    public var description: String {
        "KubernetesConfiguration(server: \(server), namespace: \(namespace), prefix: \(prefix), kind: \(kind.rawValue), "
            + "auth: \(authentication), tls: \(tls))"
    }

    /// Hides secrets from `dump` and debuggers.
    public var customMirror: Mirror { Mirror(self, children: ["configuration": description]) }
}

extension KubernetesConfiguration {
    /// Throws ``LockheedError/invalidConfiguration(_:)`` for settings that cannot work.
    func validate() throws(LockheedError) {
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw .invalidConfiguration("Kubernetes server \"\(server)\" must be an http:// or https:// URL")
        }
        if let problem = LockName.problem(with: namespace) {
            throw .invalidConfiguration("Kubernetes namespace \"\(namespace)\" \(problem)")
        }
        if let problem = LockName.problem(with: prefix) {
            throw .invalidConfiguration("ConfigMap prefix \"\(prefix)\" \(problem)")
        }
        guard maxAttempts >= 1, maxConflictRetries >= 1 else {
            throw .invalidConfiguration("maxAttempts and maxConflictRetries must be at least 1")
        }
        if (tls.clientCertificatePEM == nil) != (tls.clientKeyPEM == nil) {
            throw .invalidConfiguration("a client certificate needs both the certificate and its key")
        }
    }

    /// `server` without a trailing slash.
    var baseURL: String {
        var url = server
        while url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
