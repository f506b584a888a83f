import LockheedCore

// The Fuzz/ package compiles this file without the Postgres backend (and its NIO build).
#if canImport(LockheedPostgres)
    import LockheedPostgres
#endif

/// Which backend to use and how, parsed from one URL-like string so users swap backends
/// without code changes:
///
/// | URL | backend |
/// |---|---|
/// | `memory:` | in-process memory (tests, single programs) |
/// | `sqlite:` | SQLite at the default path in the user's state directory |
/// | `sqlite:///path/to/locks.db?busy_timeout=5s&synchronous=full` | SQLite at an absolute path |
/// | `redis://[user:password@]host[:port][/db]?prefix=…&timeout=…&reply_spin=…` | Redis |
/// | `postgres://USER[:PASSWORD]@HOST[:PORT]/DB?schema=…&sslmode=…` | PostgreSQL |
/// | `kubernetes:` | Kubernetes, in-cluster service account |
/// | `kubernetes://NAMESPACE?kubeconfig=PATH&context=NAME&prefix=…` | Kubernetes via a kubeconfig |
/// | `kubernetes://NAMESPACE?kind=lease` | Kubernetes, one `coordination.k8s.io/v1` Lease per lock |
///
/// Parsing (``init(url:environment:)``) is separate from construction (``makeLocker()``), so a
/// configuration can be checked and shown (with secrets redacted, see ``description``) without
/// touching the backend.
public enum BackendConfiguration: Sendable, Hashable {
    /// The in-memory backend; each process has its own store.
    case memory
    /// The SQLite backend.
    case sqlite(SQLiteURLParts)
    /// The Redis backend.
    case redis(RedisURLParts)
    /// The Kubernetes backend (ConfigMaps).
    case kubernetes(KubernetesURLParts)
    #if canImport(LockheedPostgres)
        /// The PostgreSQL backend.
        case postgres(PostgresConfiguration)
    #endif

    /// The backend used when nothing is configured: SQLite at its default path.
    public static let `default`: BackendConfiguration = .sqlite(SQLiteURLParts())

    /// Valid examples, shown in every parse error.
    public static let examples = [
        "sqlite:", "sqlite:///var/tmp/locks.db", "redis://localhost:6379/0?prefix=myapp",
        "kubernetes://my-namespace", "memory:",
    ]

    /// The scheme: `memory`, `sqlite`, `redis` or `kubernetes`.
    public var scheme: String {
        switch self {
        case .memory: "memory"
        case .sqlite: "sqlite"
        case .redis: "redis"
        case .kubernetes: "kubernetes"
        #if canImport(LockheedPostgres)
            case .postgres: "postgres"
        #endif
        }
    }
}

/// The parts of a `sqlite:` URL.
public struct SQLiteURLParts: Sendable, Hashable {
    /// The database file; `nil` for the default in the user's state directory.
    public var path: String?
    /// How long a write waits for another process's transaction (`busy_timeout=`); `nil` for the backend's default.
    public var busyTimeout: Duration?
    /// `synchronous=normal` or `synchronous=full`; `nil` for the backend's default.
    public var synchronous: Synchronous?

    /// SQLite's `PRAGMA synchronous` levels the backend offers.
    public enum Synchronous: String, Sendable, Hashable, CaseIterable {
        /// Durable except against power loss (with WAL), fast.
        case normal
        /// Durable against power loss, slower.
        case full
    }

    /// Creates the parts; all defaults select the default file.
    public init(path: String? = nil, busyTimeout: Duration? = nil, synchronous: Synchronous? = nil) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.synchronous = synchronous
    }
}

/// The parts of a `redis://` URL.
public struct RedisURLParts: Sendable, Hashable {
    /// The server's host name or address.
    public var host: String
    /// The TCP port (6379 unless given).
    public var port: Int
    /// The logical database (the URL's path, 0 unless given).
    public var database: Int
    /// The ACL user name, if any.
    public var username: String?
    /// The password, if any; never shown by ``BackendConfiguration/description``.
    public var password: String?
    /// The key prefix (`prefix=`); `nil` for the backend's default.
    public var keyPrefix: String?
    /// The connect timeout (`connect_timeout=`); `nil` for the backend's default.
    public var connectTimeout: Duration?
    /// The command timeout (`timeout=`); `nil` for the backend's default.
    public var commandTimeout: Duration?
    /// The connection pool size (`pool=`); `nil` for the backend's default.
    public var poolSize: Int?
    /// How long a caller polls for a reply before suspending (`reply_spin=`, `0s` never polls);
    /// `nil` for the backend's default.
    public var replySpin: Duration?

    /// Creates the parts of a local server's URL by default.
    public init(
        host: String = "127.0.0.1", port: Int = 6379, database: Int = 0, username: String? = nil,
        password: String? = nil, keyPrefix: String? = nil, connectTimeout: Duration? = nil,
        commandTimeout: Duration? = nil, poolSize: Int? = nil, replySpin: Duration? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
        self.keyPrefix = keyPrefix
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.poolSize = poolSize
        self.replySpin = replySpin
    }
}

/// The parts of a `kubernetes:` URL.
public struct KubernetesURLParts: Sendable, Hashable {
    /// The namespace (the URL's host); `nil` for the service account's or the context's namespace.
    public var namespace: String?
    /// The kubeconfig file (`kubeconfig=`); see ``usesInClusterCredentials(environment:)``.
    public var kubeconfig: String?
    /// The kubeconfig context (`context=`); `nil` for the current context.
    public var context: String?
    /// The ConfigMap name prefix (`prefix=`); `nil` for the backend's default.
    public var prefix: String?
    /// The object holding each lock (`kind=configmap` or `kind=lease`); `nil` for ConfigMaps.
    public var kind: Kind?

    /// The Kubernetes object kind holding each lock.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// One ConfigMap per lock (the default; the Go original's format; shared locks).
        case configMap = "configmap"
        /// One `coordination.k8s.io/v1` Lease per lock (client-go's leader-election format; mutexes only).
        case lease
    }

    /// Whether the in-cluster service account is used rather than a kubeconfig: when neither
    /// `kubeconfig=` nor `context=` is given, and either no namespace is given (`kubernetes:`) or
    /// the process runs in a pod (`KUBERNETES_SERVICE_HOST` is set), like `kubectl -n`.
    public func usesInClusterCredentials(environment: [String: String]) -> Bool {
        kubeconfig == nil && context == nil && (namespace == nil || environment["KUBERNETES_SERVICE_HOST"] != nil)
    }

    /// Creates the parts; all defaults select in-cluster credentials.
    public init(
        namespace: String? = nil, kubeconfig: String? = nil, context: String? = nil, prefix: String? = nil,
        kind: Kind? = nil
    ) {
        self.namespace = namespace
        self.kubeconfig = kubeconfig
        self.context = context
        self.prefix = prefix
        self.kind = kind
    }
}

extension BackendConfiguration: CustomStringConvertible {
    /// The configuration as a URL that parses back to it, with any password replaced by `***`:
    /// safe for logs and error messages.
    public var description: String {
        switch self {
        case .memory:
            return "memory:"
        case .sqlite(let parts):
            var query: [String] = []
            if let timeout = parts.busyTimeout { query.append("busy_timeout=\(DurationSyntax.format(timeout))") }
            if let synchronous = parts.synchronous { query.append("synchronous=\(synchronous.rawValue)") }
            let base =
                parts.path.map { "sqlite://" + URLText.escape($0, allowing: URLText.pathCharacters) } ?? "sqlite:"
            return base + URLText.query(query)
        case .redis(let parts):
            var userInfo = ""
            if let username = parts.username {
                userInfo = URLText.escape(username, allowing: URLText.unreserved)
                if parts.password != nil { userInfo += ":***" }
                userInfo += "@"
            } else if parts.password != nil {
                userInfo = ":***@"
            }
            let host = parts.host.unicodeScalars.contains(":") ? "[\(parts.host)]" : parts.host
            var query: [String] = []
            if let prefix = parts.keyPrefix {
                query.append("prefix=" + URLText.escape(prefix, allowing: URLText.unreserved))
            }
            if let timeout = parts.commandTimeout { query.append("timeout=\(DurationSyntax.format(timeout))") }
            if let timeout = parts.connectTimeout { query.append("connect_timeout=\(DurationSyntax.format(timeout))") }
            if let pool = parts.poolSize { query.append("pool=\(pool)") }
            if let spin = parts.replySpin { query.append("reply_spin=\(DurationSyntax.format(spin))") }
            return "redis://\(userInfo)\(host):\(parts.port)/\(parts.database)" + URLText.query(query)
        case .kubernetes(let parts):
            var query: [String] = []
            if let kubeconfig = parts.kubeconfig {
                query.append("kubeconfig=" + URLText.escape(kubeconfig, allowing: URLText.pathCharacters))
            }
            if let context = parts.context {
                query.append("context=" + URLText.escape(context, allowing: URLText.unreserved))
            }
            if let prefix = parts.prefix {
                query.append("prefix=" + URLText.escape(prefix, allowing: URLText.unreserved))
            }
            if let kind = parts.kind { query.append("kind=\(kind.rawValue)") }
            if parts.namespace == nil && query.isEmpty { return "kubernetes:" }
            return "kubernetes://\(parts.namespace ?? "")" + URLText.query(query)
        #if canImport(LockheedPostgres)
            case .postgres(let configuration):
                return configuration.description
        #endif
        }
    }
}
