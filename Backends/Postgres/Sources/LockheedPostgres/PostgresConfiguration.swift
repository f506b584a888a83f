import Foundation
import LockheedCore

/// Where and how a ``PostgresLocker`` connects, and which schema holds its tables.
///
/// Several applications can share one database: each uses its own ``schema``. The password is
/// never printed: ``description`` masks it.
public struct PostgresConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection is encrypted.
    public enum SSLMode: String, Sendable, Hashable {
        /// Plain TCP.
        case disable
        /// TLS, refusing a server that does not offer it. The server's certificate is not verified
        /// (libpq's `require`).
        case require
    }

    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The role's password; `nil` for trust or peer authentication.
    public var password: String?
    /// The database to connect to.
    public var database: String
    /// The schema holding Lockheed's tables (created on first use).
    public var schema: String
    /// Plain or TLS.
    public var sslMode: SSLMode
    /// How long connecting may take before the server counts as unavailable.
    public var connectTimeout: Duration
    /// How many idle connections are kept for reuse.
    public var poolSize: Int
    /// How many times a transaction that failed with a serialization failure or a deadlock is
    /// run again before the error is returned.
    public var transactionRetries: Int = 5
    /// The longest a session of this locker may sit inside a transaction, and a statement may
    /// wait for another session's row lock or run, before the server ends it. A client frozen
    /// in the middle of an operation (a paused process, a dead network path) then holds the
    /// lock's row for this long at most, instead of until TCP notices. Operations take
    /// milliseconds; the default is 5 s.
    public var transactionTimeout: Duration = .seconds(5)

    /// Creates a configuration; every parameter has the default of a local server.
    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        username: String = "postgres",
        password: String? = nil,
        database: String = "postgres",
        schema: String = "lockheed",
        sslMode: SSLMode = .disable,
        connectTimeout: Duration = .seconds(5),
        poolSize: Int = 4
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.sslMode = sslMode
        self.connectTimeout = connectTimeout
        self.poolSize = poolSize
    }

    /// The configuration without its password, e.g.
    /// `postgres://app:****@db.example:5432/locks?schema=lockheed&sslmode=disable`.
    public var description: String {
        let secret = password == nil ? "" : ":****"
        let hostText = host.contains(":") ? "[\(host)]" : host
        return
            "postgres://\(username)\(secret)@\(hostText):\(port)/\(database)?schema=\(schema)&sslmode=\(sslMode.rawValue)"
    }

    /// The channel `NOTIFY` uses for this schema's changes.
    var channel: String { "lockheed.\(schema)" }

    /// Throws ``LockheedCore/LockheedError/invalidConfiguration(_:)`` for values that cannot work.
    func validate() throws(LockheedError) {
        guard !host.isEmpty else { throw .invalidConfiguration("postgres host must not be empty") }
        guard (1...65535).contains(port) else {
            throw .invalidConfiguration("postgres port must be 1...65535, got \(port)")
        }
        guard !username.isEmpty else { throw .invalidConfiguration("postgres user must not be empty") }
        guard !database.isEmpty else { throw .invalidConfiguration("postgres database must not be empty") }
        guard Self.isPlainIdentifier(schema) else {
            throw .invalidConfiguration(
                "postgres schema must be 1-48 characters of a-z, 0-9 and _, not starting with a digit, got \"\(schema)\""
            )
        }
        guard poolSize >= 1 else {
            throw .invalidConfiguration("postgres poolSize must be at least 1, got \(poolSize)")
        }
        guard connectTimeout > .zero else { throw .invalidConfiguration("postgres connectTimeout must be positive") }
        guard transactionRetries >= 0 else {
            throw .invalidConfiguration("postgres transactionRetries must not be negative")
        }
        guard transactionTimeout >= .milliseconds(1), transactionTimeout <= .seconds(3600) else {
            throw .invalidConfiguration("postgres transactionTimeout must be 1 ms to 1 hour")
        }
    }

    /// Lower-case letters, digits and `_`, not starting with a digit: safe to quote into SQL and
    /// into a `LISTEN` channel name.
    static func isPlainIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, text.unicodeScalars.count <= 48 else { return false }
        guard first != "_" || text.count > 1, !("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}

extension PostgresConfiguration {
    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB?schema=…&sslmode=disable|require`
    /// (`postgresql://` too). Without a password in the URL, `LOCKHEED_POSTGRES_PASSWORD` and then
    /// `PGPASSWORD` from `environment` are used. Throws
    /// ``LockheedCore/LockheedError/invalidConfiguration(_:)`` naming what is wrong, never the password.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(LockheedError)
    {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw .invalidConfiguration("not a postgres:// URL (expected postgres://USER@HOST[:PORT]/DB)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidConfiguration("postgres URL has no host (expected postgres://USER@HOST[:PORT]/DB)")
        }
        self.init()
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let port = components.port {
            guard (1...65535).contains(port) else { throw .invalidConfiguration("postgres port must be 1...65535") }
            self.port = port
        }
        // Decoded once: `user`/`password` are already decoded, and decoding "p%ss" again fails.
        if let user = components.percentEncodedUser?.removingPercentEncoding, !user.isEmpty { username = user }
        if let secret = components.percentEncodedPassword?.removingPercentEncoding {
            password = secret
        } else {
            password = environment["LOCKHEED_POSTGRES_PASSWORD"] ?? environment["PGPASSWORD"]
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if let name = path.removingPercentEncoding, !name.isEmpty {
            guard !name.contains("/") else {
                throw .invalidConfiguration("postgres URL path must be one database name")
            }
            database = name
        }
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "schema": schema = value
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw .invalidConfiguration("postgres sslmode must be disable or require, got \"\(value)\"")
                }
                sslMode = mode
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw .invalidConfiguration("postgres connect_timeout must be a positive number of seconds")
                }
                connectTimeout = .seconds(seconds)
            case "pool_size":
                guard let size = Int(value), size >= 1 else {
                    throw .invalidConfiguration("postgres pool_size must be a positive integer")
                }
                poolSize = size
            default:
                throw .invalidConfiguration(
                    "unknown postgres URL parameter \"\(item.name)\" (known: schema, sslmode, connect_timeout, pool_size)"
                )
            }
        }
        try validate()
    }
}
