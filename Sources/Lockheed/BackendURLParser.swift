import Foundation
import LockheedCore

// The Fuzz/ package compiles this file without the Postgres backend (and its NIO build).
#if canImport(LockheedPostgres)
    import LockheedPostgres
#endif

extension BackendConfiguration {
    /// The environment variable a Redis password may come from, so it stays out of command lines.
    public static let redisPasswordVariable = "LOCKHEED_REDIS_PASSWORD"

    /// The largest Redis connection pool a URL may ask for (`pool=`).
    public static let maximumPoolSize = 256

    /// Parses a backend URL (see ``BackendConfiguration``).
    ///
    /// Throws ``LockheedCore/LockheedError/invalidConfiguration(_:)`` for an unknown scheme, a
    /// bad, out-of-range or unknown parameter, a relative SQLite path, or missing credentials (a
    /// Redis user without a password in the URL or in `LOCKHEED_REDIS_PASSWORD`); the message
    /// says what is wrong, shows valid examples, and never contains a password.
    ///
    /// The user part is everything between `//` and the *last* `@` of the URL (unless the text
    /// before its first `:` holds a `/`, `?` or `#`, as a parameter such as `context=admin@prod`
    /// would), so a password may hold any character, `@ / ? # :` included; a parameter value
    /// holding `@` must be written `%40` (else the text before it is taken for a user part).
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(LockheedError)
    {
        let url = try BackendURL(text)
        switch url.scheme {
        case "memory":
            guard !url.hasAuthority, url.path.isEmpty, url.query.isEmpty else {
                throw url.error("memory: takes no host, path or parameters", example: "memory:")
            }
            self = .memory
        case "sqlite":
            self = .sqlite(try Self.sqliteParts(url, currentDirectory: FileManager.default.currentDirectoryPath))
        case "redis":
            self = .redis(try Self.redisParts(url, environment: environment))
        case "rediss":
            throw url.error(
                "TLS (rediss://) is not supported: the system hiredis 0.14 has no TLS; use redis:// on a trusted network",
                example: "redis://localhost:6379/0")
        #if canImport(LockheedPostgres)
            case "postgres", "postgresql":
                self = .postgres(try Self.postgresConfiguration(url, environment: environment))
        #endif
        case "kubernetes", "k8s":
            self = .kubernetes(try Self.kubernetesParts(url))
        default:
            throw url.error("unknown backend scheme \"\(url.scheme):\"", example: nil)
        }
    }

    private static func sqliteParts(_ url: BackendURL, currentDirectory: String) throws(LockheedError)
        -> SQLiteURLParts
    {
        var parts = SQLiteURLParts()
        let example = "sqlite:///var/tmp/locks.db"
        try url.refuseUserInfo(example: example)
        if let host = url.host, !host.isEmpty {
            throw url.error(
                "sqlite URLs have no host (\(url.quote(host))); write an absolute path after three slashes",
                example: example)
        }
        if !url.path.isEmpty {
            guard url.path.unicodeScalars.first == "/" else {
                // A relative path would name a different file in each working directory, so
                // two processes could each "hold" the same lock.
                let directory = currentDirectory.hasSuffix("/") ? currentDirectory : currentDirectory + "/"
                let absolute = URLText.escape(directory + url.path, allowing: URLText.pathCharacters)
                throw url.error(
                    "the database path must be absolute, so every process names the same file",
                    example: "sqlite://\(absolute) for this directory")
            }
            parts.path = url.path
        }
        for (key, value) in url.query {
            switch key {
            case "busy_timeout":
                parts.busyTimeout = try url.duration(value, key: key, example: example, atMost: .seconds(3600))
            case "synchronous":
                guard let mode = SQLiteURLParts.Synchronous(rawValue: value.lowercased()) else {
                    throw url.error("synchronous must be normal or full, not \(url.quote(value))", example: example)
                }
                parts.synchronous = mode
            default: throw url.unknownParameter(key, valid: ["busy_timeout", "synchronous"], example: example)
            }
        }
        return parts
    }

    #if canImport(LockheedPostgres)
        /// A postgres URL, its user part found by the URL grammar (as for Redis, so no character of a
        /// password can move it into the host or an error), handed to ``PostgresConfiguration`` with
        /// the user and password %-escaped.
        private static func postgresConfiguration(_ url: BackendURL, environment: [String: String])
            throws(LockheedError) -> PostgresConfiguration
        {
            let example = "postgres://user:PASSWORD@localhost:5432/mydb?schema=locks"
            guard url.hasAuthority, let host = url.host, !host.isEmpty else {
                throw url.error("a postgres URL names its server after two slashes", example: example)
            }
            var userPart = ""
            if let userInfo = url.userInfo?[...].unicodeScalars {
                let colon = userInfo.firstIndex(of: ":")
                guard let user = URLText.unescape(userInfo[..<(colon ?? userInfo.endIndex)]) else {
                    throw url.error("the user name has a malformed %-escape", example: example)
                }
                userPart = URLText.escape(user, allowing: URLText.unreserved)
                if let colon {
                    guard let password = URLText.unescape(userInfo[userInfo.index(after: colon)...]) else {
                        throw url.error("the password has a malformed %-escape", example: example)
                    }
                    userPart += ":" + URLText.escape(password, allowing: URLText.unreserved)
                }
                userPart += "@"
            }
            let query = URLText.query(
                url.query.map {
                    URLText.escape($0.0, allowing: URLText.unreserved) + "="
                        + URLText.escape($0.1, allowing: URLText.unreserved)
                })
            let canonical = "postgres://\(userPart)\(host)\(url.path)\(query)"
            do {
                return try PostgresConfiguration(url: canonical, environment: environment)
            } catch {
                // PostgresConfiguration names what is wrong, never the password; add the masked URL.
                let message = error.message
                guard error.code == .invalidConfiguration else { throw error }
                throw url.error(message, example: example)
            }
        }

    #endif

    private static func redisParts(_ url: BackendURL, environment: [String: String]) throws(LockheedError)
        -> RedisURLParts
    {
        var parts = RedisURLParts()
        let example = "redis://user:PASSWORD@localhost:6379/0?prefix=myapp&timeout=2s"
        guard url.hasAuthority || (url.path.isEmpty && url.userInfo == nil) else {
            throw url.error("a redis URL names its server after two slashes", example: example)
        }
        if let userInfo = url.userInfo?[...].unicodeScalars {
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
        var hostPort = (url.host ?? "")[...].unicodeScalars
        if parts.password == nil, let password = environment[redisPasswordVariable], !password.isEmpty {
            parts.password = password
        }
        if let username = parts.username, parts.password == nil {
            throw url.error(
                "user \(url.quote(username)) has no password: put it in the URL or in \(redisPasswordVariable)",
                example: example)
        }
        if hostPort.first == "[" {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw url.error("the IPv6 address is missing its ']'", example: "redis://[::1]:6379")
            }
            parts.host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            hostPort = hostPort[hostPort.index(after: close)...]
            if !hostPort.isEmpty && hostPort.first != ":" {
                throw url.error("expected ':PORT' after the IPv6 address", example: "redis://[::1]:6379")
            }
        } else {
            let host = hostPort.prefix { $0 != ":" }
            if !host.isEmpty { parts.host = String(host) }
            hostPort = hostPort[host.endIndex...]
        }
        if hostPort.first == ":" {
            let portText = String(hostPort.dropFirst())
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw url.error(
                    "the port must be a number from 1 to 65535, not \(url.quote(portText))", example: example)
            }
            parts.port = port
        }
        let database = url.path.unicodeScalars.first == "/" ? String(url.path.unicodeScalars.dropFirst()) : url.path
        if !database.isEmpty {
            guard let number = Int(database), (0...Int(Int32.max)).contains(number) else {
                throw url.error(
                    "the path selects a database by number (/0, /1, … up to /\(Int32.max))", example: example)
            }
            parts.database = number
        }
        for (key, value) in url.query {
            switch key {
            case "prefix":
                guard !value.isEmpty else { throw url.error("prefix must not be empty", example: example) }
                parts.keyPrefix = value
            case "timeout":
                parts.commandTimeout = try url.duration(
                    value, key: key, example: example, positive: true, atMost: .seconds(3600))
            case "connect_timeout":
                parts.connectTimeout = try url.duration(
                    value, key: key, example: example, positive: true, atMost: .seconds(3600))
            case "pool":
                guard let size = Int(value), (1...Self.maximumPoolSize).contains(size) else {
                    throw url.error(
                        "pool must be a whole number from 1 to \(Self.maximumPoolSize), not \"\(value)\"",
                        example: example)
                }
                parts.poolSize = size
            case "reply_spin":
                parts.replySpin = try url.duration(value, key: key, example: example, atMost: .seconds(1))
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
        try url.refuseUserInfo(example: example)
        if let namespace = url.host, !namespace.isEmpty {
            guard let problem = LockName.problem(with: namespace) else {
                parts.namespace = namespace
                return try kubernetesQuery(url, into: parts, example: example)
            }
            throw url.error(
                "namespace \(url.quote(namespace)) is not a valid namespace name: it \(problem)", example: example)
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
            guard !value.isEmpty else { throw url.error("\(url.quote(key)) must not be empty", example: example) }
            switch key {
            case "kubeconfig": parts.kubeconfig = value
            case "context": parts.context = value
            case "prefix": parts.prefix = value
            case "kind":
                switch value.lowercased() {
                case "configmap", "configmaps": parts.kind = .configMap
                case "lease", "leases": parts.kind = .lease
                default:
                    throw url.error(
                        "kind \(url.quote(value)) is not a Kubernetes lock kind: use kind=configmap or kind=lease",
                        example: "kubernetes://my-namespace?kind=lease")
                }
            default:
                throw url.unknownParameter(key, valid: ["kubeconfig", "context", "prefix", "kind"], example: example)
            }
        }
        return parts
    }
}

/// A backend URL split into parts by the grammar
/// `scheme ":" ["//" [userinfo "@"] host] path ["?" query]`, where `userinfo` ends at the last
/// `@` of the text after `//` (see ``URLText/userInfoEnd(in:)``) and `host` at the first `/`,
/// `?` or `#` after it. Errors name the URL through ``URLText/redacted(_:)`` only.
struct BackendURL {
    let original: String
    let scheme: String
    /// Whether `//` follows the scheme.
    let hasAuthority: Bool
    /// The raw (still %-escaped) text before the `@`, if any.
    let userInfo: String?
    /// The raw host and port, if the URL has `//`.
    let host: String?
    let path: String
    let query: [(String, String)]

    init(_ text: String) throws(LockheedError) {
        original = text
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = URLText.redacted(trimmed)
        // Delimiters are found among Unicode scalars, as the URL grammar has them: a `@` or `/`
        // followed by a combining mark is one Character but still a delimiter.
        let all = trimmed[...].unicodeScalars
        guard let colon = URLText.schemeEnd(in: all) else {
            throw Self.error(
                trimmed.isEmpty ? "the backend URL is empty" : "\"\(shown)\" has no scheme",
                example: nil)
        }
        scheme = String(all[..<colon]).lowercased()
        var rest = all[all.index(after: colon)...]
        // A secret parameter is refused before anything else is read, wherever an `@` in its
        // value would otherwise put it: no later error may quote a piece of it.
        if let question = rest.firstIndex(of: "?"),
            URLText.secretParameterStart(in: rest[rest.index(after: question)...]) != nil
        {
            throw Self.error(
                "\"\(shown)\": put the password in the URL's user part "
                    + "(redis://user:PASSWORD@host) or in \(BackendConfiguration.redisPasswordVariable), "
                    + "not in a parameter",
                example: nil)
        }
        if rest.starts(with: "//".unicodeScalars) {
            hasAuthority = true
            rest = rest.dropFirst(2)
            if let at = URLText.userInfoEnd(in: rest) {
                userInfo = String(rest[..<at])
                rest = rest[rest.index(after: at)...]
            } else {
                userInfo = nil
            }
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            host = String(rest[..<end])
            rest = rest[end...]
        } else {
            hasAuthority = false
            host = nil
            if rest.contains("@") && rest.first != "/" {
                // `redis:user:pw@host`: a user part needs `//`; say so without echoing it. (An
                // absolute path such as `sqlite:/home/a@b/locks.db` may hold `@`.)
                throw Self.error(
                    "\"\(shown)\": a user name or password goes after two slashes",
                    example: "redis://user:PASSWORD@localhost:6379/0")
            }
            userInfo = nil
        }
        if rest.contains("#") {
            throw Self.error("\"\(shown)\": fragments (#…) are not allowed", example: nil)
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
                    let key = Self.quote(String(item.prefix { $0 != "=" }), shownIn: shown)
                    throw Self.error(
                        "\"\(shown)\": parameter \(key) needs the form key=value with valid %-escapes", example: nil)
                }
                guard seen.insert(key).inserted else {
                    throw Self.error(
                        "\"\(shown)\": parameter \(Self.quote(key, shownIn: shown)) is given twice", example: nil)
                }
                queryItems.append((key, value))
            }
        }
        query = queryItems
        guard let decodedPath = URLText.unescape(rest) else {
            throw Self.error("\"\(shown)\": the path has a malformed %-escape", example: nil)
        }
        path = decodedPath
    }

    /// Throws for a user part in a URL whose scheme takes none.
    func refuseUserInfo(example: String) throws(LockheedError) {
        if userInfo != nil { throw error("\(scheme): URLs take no user name or password", example: example) }
    }

    /// `piece` of this URL in quotes for a message, when the redacted URL shows it; otherwise
    /// (it lies where a password could be) a placeholder.
    func quote(_ piece: some StringProtocol) -> String { Self.quote(piece, shownIn: URLText.redacted(original)) }

    /// `piece` in quotes when `shown` (a redacted URL) holds it, else a placeholder.
    static func quote(_ piece: some StringProtocol, shownIn shown: String) -> String {
        shown.contains(piece) ? "\"\(piece)\"" : "(a part not shown)"
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
        error(
            "unknown parameter \(quote(key)) for \(scheme): (valid: \(valid.joined(separator: ", ")))", example: example
        )
    }

    /// The duration parameter `key`, refused when it does not parse, is zero and must be
    /// `positive`, or exceeds `atMost`.
    func duration(_ value: String, key: String, example: String, positive: Bool = false, atMost limit: Duration)
        throws(LockheedError) -> Duration
    {
        guard DurationSyntax.hasDurationForm(value) else {
            throw self.error("\(key): \(quote(value)) is not a duration like 500ms, 5s or 1m", example: example)
        }
        // In form but unparsable means longer than DurationSyntax.maximum: over the limit too.
        let duration = (try? DurationSyntax.parse(value)) ?? DurationSyntax.maximum + .seconds(1)
        if positive && duration <= .zero { throw self.error("\(key) must be positive", example: example) }
        guard duration <= limit else {
            throw self.error(
                "\(key) must be at most \(DurationSyntax.format(limit)), not \(quote(value))", example: example)
        }
        return duration
    }
}
