import LockheedCore

/// Where and how a ``RedisLocker`` connects, and how it names its keys.
///
/// Several applications can share one server: each uses its own ``keyPrefix``.
public struct RedisConfiguration: Sendable, Hashable {
    /// The server's host name or IP address.
    public var host: String
    /// The server's TCP port.
    public var port: Int
    /// The logical database selected after connecting (`SELECT`).
    public var database: Int
    /// The ACL user name (Redis 6 and later); `nil` authenticates as `default` when a password is set.
    public var username: String?
    /// The password sent with `AUTH`; `nil` skips authentication.
    public var password: String?
    /// Prepended to every key and channel this locker uses, followed by `:`.
    public var keyPrefix: String
    /// How long connecting may take before the server counts as unavailable.
    public var connectTimeout: Duration
    /// How long one command may take before it fails with ``LockheedCore/LockheedError/timedOut(_:)``.
    public var commandTimeout: Duration
    /// How many connections run commands concurrently.
    public var poolSize: Int
    /// How long the calling thread polls for a reply (yielding the CPU between polls) before
    /// it suspends the task and lets the reactor thread wait. Polling saves two thread wake-ups
    /// per command, which is most of a loopback round trip; it is skipped while other commands
    /// of the locker are in flight and after 8 polls in a row missed (a distant server).
    /// `.zero` never polls.
    public var replySpin: Duration = .microseconds(200)
    /// How long the key of a lock without active leases is kept (with its tags) before Redis
    /// deletes it. The fencing counter is kept in a separate key that never expires.
    public var idleRetention: Duration = .seconds(24 * 3600)

    /// Creates a configuration; every parameter has the default of a local server.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        database: Int = 0,
        username: String? = nil,
        password: String? = nil,
        keyPrefix: String = "lockheed",
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(2),
        poolSize: Int = 4
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
    }

    /// Throws ``LockheedCore/LockheedError/invalidConfiguration(_:)`` for values that cannot work.
    func validate() throws(LockheedError) {
        guard !host.isEmpty else { throw .invalidConfiguration("redis host must not be empty") }
        guard (1...65535).contains(port) else {
            throw .invalidConfiguration("redis port must be 1...65535, got \(port)")
        }
        guard database >= 0 else { throw .invalidConfiguration("redis database must not be negative") }
        guard poolSize >= 1 else { throw .invalidConfiguration("redis poolSize must be at least 1, got \(poolSize)") }
        guard !keyPrefix.isEmpty, !keyPrefix.contains(where: { $0.isWhitespace || $0 == "*" || $0 == "?" || $0 == "[" })
        else {
            throw .invalidConfiguration("redis keyPrefix must be non-empty without spaces or glob characters")
        }
        guard connectTimeout > .zero, commandTimeout > .zero else {
            throw .invalidConfiguration("redis timeouts must be positive")
        }
        guard replySpin >= .zero, replySpin < commandTimeout else {
            throw .invalidConfiguration("redis replySpin must be between zero and commandTimeout")
        }
        guard idleRetention >= .seconds(1) else {
            throw .invalidConfiguration("redis idleRetention must be at least 1s")
        }
    }
}
