import Foundation
import LockheedCore
import Yams

extension KubernetesConfiguration {
    /// Reads a kubeconfig like `kubectl` does: `path`, else every file of `$KUBECONFIG`
    /// (colon-separated, the first definition of a name wins), else `~/.kube/config`.
    ///
    /// Uses `context` (default: `current-context`), its cluster, user and namespace; `namespace`
    /// overrides the context's (default `"default"`). Supports `server`, `certificate-authority`
    /// and `-data`, `insecure-skip-tls-verify`, `tls-server-name`, user `token`, `tokenFile`,
    /// `client-certificate`/`client-key` and their `-data` forms. An `exec` plugin, an
    /// `auth-provider` or basic auth is an ``LockheedError/invalidConfiguration(_:)`` naming it.
    public static func kubeconfig(
        path: String? = nil, context: String? = nil, namespace: String? = nil, prefix: String = "lockheed"
    ) throws(LockheedError) -> KubernetesConfiguration {
        let paths = try Kubeconfig.paths(explicit: path, environment: ProcessInfo.processInfo.environment)
        var merged = Kubeconfig()
        for file in paths {
            guard let data = FileManager.default.contents(atPath: file) else {
                if path != nil || paths.count == 1 {
                    throw .invalidConfiguration("cannot read kubeconfig \(file)")
                }
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .invalidConfiguration("kubeconfig \(file) is not UTF-8 text")
            }
            merged.merge(try Kubeconfig(yaml: text, file: file))
        }
        return try merged.configuration(context: context, namespace: namespace, prefix: prefix)
    }
}

/// The parts of a kubeconfig file a locker needs.
struct Kubeconfig {
    struct Entry {
        var fields: [String: Any]
        /// The directory of the file that defined it: relative paths are relative to it.
        var directory: String
    }

    var currentContext: String?
    var contexts: [String: Entry] = [:]
    var clusters: [String: Entry] = [:]
    var users: [String: Entry] = [:]

    init() {}

    /// Parses one kubeconfig file's YAML.
    init(yaml: String, file: String) throws(LockheedError) {
        let loaded: Any?
        do { loaded = try Yams.load(yaml: yaml) } catch {
            throw .invalidConfiguration("kubeconfig \(file) is not valid YAML: \(error)")
        }
        guard let root = loaded as? [String: Any] else {
            throw .invalidConfiguration("kubeconfig \(file) is not a YAML mapping")
        }
        let directory = (file as NSString).deletingLastPathComponent
        currentContext = (root["current-context"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        contexts = Self.named(root["contexts"], key: "context", directory: directory)
        clusters = Self.named(root["clusters"], key: "cluster", directory: directory)
        users = Self.named(root["users"], key: "user", directory: directory)
    }

    private static func named(_ list: Any?, key: String, directory: String) -> [String: Entry] {
        var result: [String: Entry] = [:]
        for item in list as? [Any] ?? [] {
            guard let item = item as? [String: Any], let name = item["name"] as? String else { continue }
            result[name] = Entry(fields: item[key] as? [String: Any] ?? [:], directory: directory)
        }
        return result
    }

    /// Adds `other`'s definitions that this one lacks (the first file wins, like kubectl).
    mutating func merge(_ other: Kubeconfig) {
        currentContext = currentContext ?? other.currentContext
        contexts.merge(other.contexts) { first, _ in first }
        clusters.merge(other.clusters) { first, _ in first }
        users.merge(other.users) { first, _ in first }
    }

    static func paths(explicit: String?, environment: [String: String]) throws(LockheedError) -> [String] {
        if let explicit { return [explicit] }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return list.split(separator: ":").map(String.init)
        }
        guard let home = environment["HOME"] else {
            throw .invalidConfiguration("no kubeconfig: set KUBECONFIG or HOME, or pass a path")
        }
        return [home + "/.kube/config"]
    }

    /// The configuration for `context` (or the current context).
    func configuration(context: String?, namespace: String?, prefix: String) throws(LockheedError)
        -> KubernetesConfiguration
    {
        guard let contextName = context ?? currentContext else {
            throw .invalidConfiguration("the kubeconfig has no current-context; pass a context name")
        }
        guard let contextEntry = contexts[contextName] else {
            throw .invalidConfiguration("context \"\(contextName)\" is not defined in the kubeconfig")
        }
        guard let clusterName = contextEntry.fields["cluster"] as? String, let cluster = clusters[clusterName] else {
            throw .invalidConfiguration("the cluster of context \"\(contextName)\" is not defined in the kubeconfig")
        }
        guard let server = cluster.fields["server"] as? String, !server.isEmpty else {
            throw .invalidConfiguration("cluster \"\(clusterName)\" has no server")
        }
        let contextNamespace = (contextEntry.fields["namespace"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        var tls = KubernetesConfiguration.TLSOptions()
        tls.certificateAuthorityPEM = try Self.material(
            cluster, data: "certificate-authority-data", file: "certificate-authority", what: "certificate authority")
        tls.insecureSkipVerify = Self.bool(cluster.fields["insecure-skip-tls-verify"])
        tls.serverName = cluster.fields["tls-server-name"] as? String

        var authentication = KubernetesConfiguration.Authentication.none
        if let userName = contextEntry.fields["user"] as? String, !userName.isEmpty {
            guard let user = users[userName] else {
                throw .invalidConfiguration("user \"\(userName)\" of context \"\(contextName)\" is not defined")
            }
            if user.fields["exec"] != nil {
                let command = (user.fields["exec"] as? [String: Any])?["command"] as? String ?? "?"
                throw .invalidConfiguration(
                    "user \"\(userName)\" authenticates with an exec plugin (\(command)), which LockheedKubernetes "
                        + "does not support; use a token, a token file or a client certificate")
            }
            if let provider = user.fields["auth-provider"] {
                let providerName = (provider as? [String: Any])?["name"] as? String ?? "?"
                throw .invalidConfiguration(
                    "user \"\(userName)\" authenticates with auth-provider \"\(providerName)\", which "
                        + "LockheedKubernetes does not support; use a token, a token file or a client certificate")
            }
            if user.fields["username"] != nil || user.fields["password"] != nil {
                throw .invalidConfiguration(
                    "user \"\(userName)\" uses basic authentication (username/password), which Kubernetes "
                        + "removed and LockheedKubernetes does not support")
            }
            if let token = user.fields["token"] as? String, !token.isEmpty {
                authentication = .bearerToken(token)
            } else if let file = user.fields["tokenFile"] as? String, !file.isEmpty {
                authentication = .bearerTokenFile(Self.resolve(file, in: user.directory))
            }
            tls.clientCertificatePEM = try Self.material(
                user, data: "client-certificate-data", file: "client-certificate", what: "client certificate")
            tls.clientKeyPEM = try Self.material(user, data: "client-key-data", file: "client-key", what: "client key")
        }
        let configuration = KubernetesConfiguration(
            server: server, namespace: namespace ?? contextNamespace ?? "default", prefix: prefix,
            authentication: authentication, tls: tls)
        try configuration.validate()
        return configuration
    }

    /// The PEM bytes of a `<x>-data` field (base64) or of the file a `<x>` field names.
    private static func material(_ entry: Entry, data: String, file: String, what: String) throws(LockheedError)
        -> [UInt8]?
    {
        if let encoded = entry.fields[data] as? String, !encoded.isEmpty {
            guard let decoded = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw .invalidConfiguration("kubeconfig field \(data) is not valid base64")
            }
            return Array(decoded)
        }
        if let path = entry.fields[file] as? String, !path.isEmpty {
            let resolved = resolve(path, in: entry.directory)
            guard let contents = FileManager.default.contents(atPath: resolved) else {
                throw .invalidConfiguration("cannot read the \(what) file \(resolved)")
            }
            return Array(contents)
        }
        return nil
    }

    static func resolve(_ path: String, in directory: String) -> String {
        path.hasPrefix("/") || directory.isEmpty ? path : directory + "/" + path
    }

    private static func bool(_ value: Any?) -> Bool {
        if let value = value as? Bool { return value }
        if let value = value as? String { return value == "true" }
        return false
    }
}
