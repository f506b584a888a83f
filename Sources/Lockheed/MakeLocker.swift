import Foundation
import LockheedCore
import LockheedKubernetes
import LockheedMemory
import LockheedPostgres
import LockheedRedis
import LockheedSQLite

extension BackendConfiguration {
    /// Builds the configured backend's locker. Call ``LockheedCore/Locker/shutdown()`` on it when done.
    ///
    /// Throws what the backend's constructor throws (e.g. ``LockheedCore/LockheedError/unavailable(_:)``
    /// when a file cannot be opened), or ``LockheedCore/LockheedError/invalidConfiguration(_:)``.
    public func makeLocker() throws(LockheedError) -> any Locker {
        switch self {
        case .memory:
            return MemoryLocker()
        case .sqlite(let parts):
            return try SQLiteLocker(
                path: parts.path ?? SQLiteLocker.defaultPath, configuration: parts.sqliteConfiguration)
        case .redis(let parts):
            return try RedisLocker(configuration: parts.redisConfiguration)
        case .kubernetes(let parts):
            return try KubernetesLocker(configuration: parts.kubernetesConfiguration())
        case .postgres(let configuration):
            return try PostgresLocker(configuration: configuration)
        }
    }
}

extension SQLiteURLParts {
    /// The backend's configuration: the URL's settings over the backend's defaults.
    public var sqliteConfiguration: SQLiteConfiguration {
        var configuration = SQLiteConfiguration()
        if let busyTimeout { configuration.busyTimeout = busyTimeout }
        switch synchronous {
        case .normal: configuration.synchronous = .normal
        case .full: configuration.synchronous = .full
        case nil: break
        }
        return configuration
    }
}

extension RedisURLParts {
    /// The backend's configuration: the URL's settings over the backend's defaults.
    public var redisConfiguration: RedisConfiguration {
        var configuration = RedisConfiguration(
            host: host, port: port, database: database, username: username, password: password)
        if let keyPrefix { configuration.keyPrefix = keyPrefix }
        if let connectTimeout { configuration.connectTimeout = connectTimeout }
        if let commandTimeout { configuration.commandTimeout = commandTimeout }
        if let poolSize { configuration.poolSize = poolSize }
        if let replySpin { configuration.replySpin = replySpin }
        return configuration
    }
}

extension KubernetesURLParts {
    /// The backend's configuration: the in-cluster service account when ``usesInClusterCredentials(environment:)``
    /// (with the URL's namespace, if any), otherwise the kubeconfig (`kubeconfig=`, else
    /// `$KUBECONFIG`, else `~/.kube/config`) with the URL's context and namespace.
    public func kubernetesConfiguration(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LockheedError) -> KubernetesConfiguration {
        let prefix = self.prefix ?? "lockheed"
        let storageKind: KubernetesConfiguration.StorageKind = kind == .lease ? .lease : .configMap
        if usesInClusterCredentials(environment: environment) {
            var configuration = try KubernetesConfiguration.inCluster(prefix: prefix)
            if let namespace { configuration.namespace = namespace }
            configuration.kind = storageKind
            return configuration
        }
        var path = kubeconfig
        if let given = path, given.hasPrefix("~/"), let home = environment["HOME"] {
            path = home + given.dropFirst()
        }
        var configuration = try KubernetesConfiguration.kubeconfig(
            path: path, context: context, namespace: namespace, prefix: prefix)
        configuration.kind = storageKind
        return configuration
    }
}
