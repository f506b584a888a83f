import Foundation
import LockheedCore
import LockheedPostgres

extension BackendConfiguration {
    /// The environment variable a Redis password may come from, so it stays out of command lines.
    public static let redisPasswordVariable = "LOCKHEED_REDIS_PASSWORD"

    /// Parses a backend URL (see ``BackendConfiguration``).
    ///
    /// Throws ``LockheedCore/LockheedError/invalidConfiguration(_:)`` for an unknown scheme, a
    /// bad or unknown parameter, or missing credentials (a Redis user without a password in the
    /// URL or in `LOCKHEED_REDIS_PASSWORD`); the message says what is wrong, shows valid
    /// examples, and never contains a password.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(LockheedError)
    {
        let url = try BackendURL(text)
        switch url.scheme {
        case "memory":
            guard url.authority == nil, url.path.isEmpty, url.query.isEmpty else {
                throw url.error("memory: takes no host, path or parameters", example: "memory:")
            }
            self = .memory
        case "sqlite":
            self = .sqlite(try Self.sqliteParts(url))
        case "redis":
            self = .redis(try Self.redisParts(url, environment: environment))
        case "rediss":
            throw url.error(
                "TLS (rediss://) is not supported: the system hiredis 0.14 has no TLS; use redis:// on a trusted network",
                example: "redis://localhost:6379/0")
        case "postgres", "postgresql":
            self = .postgres(
                try PostgresConfiguration(url: text.trimmingCharacters(in: .whitespaces), environment: environment))
        case "kubernetes", "k8s":
            self = .kubernetes(try Self.kubernetesParts(url))
        default:
            throw url.error("unknown backend scheme \"\(url.scheme):\"", example: nil)
        }
    }

    private static func sqliteParts(_ url: BackendURL) throws(LockheedError) -> SQLiteURLParts {
        var parts = SQLiteURLParts()
        let example = "sqlite:///var/tmp/locks.db"
        if let authority = url.authority, !authority.isEmpty {
            throw url.error(
                "sqlite URLs have no host (\"\(authority)\"); write an absolute path after three slashes",
                example: example)
        }
        if !url.path.isEmpty { parts.path = url.path }
        for (key, value) in url.query {
            switch key {
            case "busy_timeout": parts.busyTimeout = try url.duration(value, key: key, example: example)
            case "synchronous":
                guard let mode = SQLiteURLParts.Synchronous(rawValue: value.lowercased()) else {
                    throw url.error("synchronous must be normal or full, not \"\(value)\"", example: example)
                }
                parts.synchronous = mode
            default: throw url.unknownParameter(key, valid: ["busy_timeout", "synchronous"], example: example)
            }
        }
        return parts
    }

    private static func redisParts(_ url: BackendURL, environment: [String: String]) throws(LockheedError)
        -> RedisURLParts
    {
        var parts = RedisURLParts()
        let example = "redis://user:PASSWORD@localhost:6379/0?prefix=myapp&timeout=2s"
        var hostPort = Substring(url.authority ?? "")
        if let at = hostPort.lastIndex(of: "@") {
            let userInfo = hostPort[..<at]
            hostPort = hostPort[hostPort.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":")
            let user = userInfo[..<(colon ?? userInfo.endIndex)]
            guard let decodedUser = URLText.unescape(user) else {
                throw url.error("the user name has a malformed %-escape", example: example)
            }
            parts.username = decodedUser.isEmpty ? nil : decodedUser
            if let colon {
                guard let password = URLText.unescape(userInfo[userInfo.index(after: colon)...]) else {
                    throw url.error("the password has a malformed %-escape", example: example)
                }
                parts.password = password
            }
        }
        if parts.password == nil, let password = environment[redisPasswordVariable], !password.isEmpty {
            parts.password = password
        }
        if let username = parts.username, parts.password == nil {
            throw url.error(
                "user \"\(username)\" has no password: put it in the URL or in \(redisPasswordVariable)",
                example: example)
        }
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw url.error("the IPv6 address is missing its ']'", example: "redis://[::1]:6379")
            }
            parts.host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty && !hostPort.hasPrefix(":") {
                throw url.error("expected ':PORT' after the IPv6 address", example: "redis://[::1]:6379")
            }
        } else {
            let host = hostPort.prefix { $0 != ":" }
            if !host.isEmpty { parts.host = String(host) }
            hostPort = hostPort[host.endIndex...]
        }
        if hostPort.hasPrefix(":") {
            let portText = hostPort.dropFirst()
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw url.error("the port must be a number from 1 to 65535, not \"\(portText)\"", example: example)
            }
            parts.port = port
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        if !database.isEmpty {
            guard let number = Int(database), number >= 0 else {
                throw url.error(
                    "the path selects a database by number (/0, /1, …), not \"/\(database)\"", example: example)
            }
            parts.database = number
        }
        for (key, value) in url.query {
            switch key {
            case "prefix":
                guard !value.isEmpty else { throw url.error("prefix must not be empty", example: example) }
                parts.keyPrefix = value
            case "timeout": parts.commandTimeout = try url.duration(value, key: key, example: example, positive: true)
            case "connect_timeout":
                parts.connectTimeout = try url.duration(value, key: key, example: example, positive: true)
            case "pool":
                guard let size = Int(value), size >= 1 else {
                    throw url.error("pool must be a whole number of at least 1, not \"\(value)\"", example: example)
                }
                parts.poolSize = size
            case "reply_spin": parts.replySpin = try url.duration(value, key: key, example: example)
            case "password":
                throw url.error(
                    "put the password in the URL's user part or in \(redisPasswordVariable), not in a parameter",
                    example: example)
            default:
                throw url.unknownParameter(
                    key, valid: ["prefix", "timeout", "connect_timeout", "pool", "reply_spin"], example: example)
            }
        }
        return parts
    }

    private static func kubernetesParts(_ url: BackendURL) throws(LockheedError) -> KubernetesURLParts {
        var parts = KubernetesURLParts()
        let example = "kubernetes://my-namespace?kubeconfig=/home/me/.kube/config&context=prod&prefix=locks-"
        if let namespace = url.authority, !namespace.isEmpty {
            guard let problem = LockName.problem(with: namespace) else {
                parts.namespace = namespace
                return try kubernetesQuery(url, into: parts, example: example)
            }
            throw url.error("namespace \"\(namespace)\" is not a valid namespace name: it \(problem)", example: example)
        }
        if !url.path.isEmpty && url.path != "/" {
            throw url.error("the namespace goes after two slashes, not in a path", example: example)
        }
        return try kubernetesQuery(url, into: parts, example: example)
    }

    private static func kubernetesQuery(_ url: BackendURL, into parts: KubernetesURLParts, example: String)
        throws(LockheedError) -> KubernetesURLParts
    {
        var parts = parts
        if !url.path.isEmpty && url.path != "/" {
            throw url.error("a kubernetes URL has no path after the namespace", example: example)
        }
        for (key, value) in url.query {
            guard !value.isEmpty else { throw url.error("\(key) must not be empty", example: example) }
            switch key {
            case "kubeconfig": parts.kubeconfig = value
            case "context": parts.context = value
            case "prefix": parts.prefix = value
            default: throw url.unknownParameter(key, valid: ["kubeconfig", "context", "prefix"], example: example)
            }
        }
        return parts
    }
}

/// A backend URL split into parts: `scheme:[//authority][path][?query]`.
struct BackendURL {
    let original: String
    let scheme: String
    let authority: String?
    let path: String
    let query: [(String, String)]

    init(_ text: String) throws(LockheedError) {
        original = text
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let colon = trimmed.firstIndex(of: ":"), colon != trimmed.startIndex else {
            throw Self.error(
                trimmed.isEmpty ? "the backend URL is empty" : "\"\(URLText.redacted(trimmed))\" has no scheme",
                example: nil)
        }
        scheme = trimmed[..<colon].lowercased()
        var rest = trimmed[trimmed.index(after: colon)...]
        if rest.contains("#") {
            throw Self.error("\"\(URLText.redacted(trimmed))\": fragments (#…) are not allowed", example: nil)
        }
        var queryItems: [(String, String)] = []
        if let question = rest.firstIndex(of: "?") {
            let queryText = rest[rest.index(after: question)...]
            rest = rest[..<question]
            var seen = Set<String>()
            for item in queryText.split(separator: "&", omittingEmptySubsequences: true) {
                let equals = item.firstIndex(of: "=")
                guard let equals, let key = URLText.unescape(item[..<equals]),
                    let value = URLText.unescape(item[item.index(after: equals)...])
                else {
                    throw Self.error(
                        "parameter \"\(item.prefix { $0 != "=" })\" needs the form key=value with valid %-escapes",
                        example: nil)
                }
                guard seen.insert(key).inserted else {
                    throw Self.error("parameter \"\(key)\" is given twice", example: nil)
                }
                queryItems.append((key, value))
            }
        }
        query = queryItems
        var pathText = rest
        if rest.hasPrefix("//") {
            let afterSlashes = rest.dropFirst(2)
            let slash = afterSlashes.firstIndex(of: "/") ?? afterSlashes.endIndex
            authority = String(afterSlashes[..<slash])
            pathText = afterSlashes[slash...]
        } else {
            authority = nil
        }
        guard let decodedPath = URLText.unescape(pathText) else {
            throw Self.error("the path has a malformed %-escape", example: nil)
        }
        path = decodedPath
    }

    /// An error about this URL, naming it with secrets redacted and showing examples.
    func error(_ message: String, example: String?) -> LockheedError {
        Self.error("\(URLText.redacted(original)): \(message)", example: example)
    }

    static func error(_ message: String, example: String?) -> LockheedError {
        let examples =
            example.map { "for example \($0)" }
            ?? "valid examples: " + BackendConfiguration.examples.joined(separator: ", ")
        return .invalidConfiguration("\(message) (\(examples))")
    }

    func unknownParameter(_ key: String, valid: [String], example: String) -> LockheedError {
        error("unknown parameter \"\(key)\" for \(scheme): (valid: \(valid.joined(separator: ", ")))", example: example)
    }

    func duration(_ value: String, key: String, example: String, positive: Bool = false) throws(LockheedError)
        -> Duration
    {
        let duration: Duration
        do { duration = try DurationSyntax.parse(value) } catch {
            throw self.error("\(key): \"\(value)\" is not a duration like 500ms, 5s or 1m", example: example)
        }
        if positive && duration <= .zero { throw self.error("\(key) must be positive", example: example) }
        return duration
    }
}
