import Foundation
import LockheedCore
import Logging
import Synchronization

/// A ``LockheedCore/Locker`` on a Redis server (5.0 or later) through libhiredis.
///
/// Every operation is one Lua script run atomically on the server, so the uncontended
/// acquire, renew and release each take one round trip. Lease expiry is judged by the
/// server's clock. A release publishes on `<prefix>:changed`, which wakes waiters through a
/// dedicated subscriber connection; polling is only the fallback. When the server is away,
/// calls fail fast with ``LockheedCore/LockheedError/unavailable(_:)`` and the locker reconnects
/// by itself on a later call. After its first acquire, a locker checks the server's eviction
/// policy once, in the background, and logs a warning when the server may evict its keys (see
/// ``storageWarnings()``).
///
/// ```swift
/// let locker = try RedisLocker(configuration: RedisConfiguration(host: "10.0.0.5", keyPrefix: "billing"))
/// let lock = try Lock("nightly-report", locker: locker).duration(.seconds(30))
/// ```
public final class RedisLocker: Locker {
    /// The configuration in force.
    public let configuration: RedisConfiguration
    let pool: RedisConnectionPool
    let subscriber: RedisSubscriber
    let logger: Logger
    /// Where the background check of the eviction policy stands.
    let storageCheck = Mutex(StorageCheck.pending)

    /// Validates `configuration`; no connection is opened until the first call. `logger`
    /// receives the eviction-policy warning and debug detail; it never sees the password.
    public init(configuration: RedisConfiguration, logger: Logger = Logger(label: "lockheed.redis"))
        throws(LockheedError)
    {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        pool = RedisConnectionPool(configuration: configuration)
        subscriber = RedisSubscriber(configuration: configuration, channel: configuration.keyPrefix + ":changed")
    }

    /// `"redis"`.
    public var backendName: String { "redis" }

    /// Shared locks, change notification and cross-process visibility.
    public var capabilities: LockerCapabilities { [.sharedLocks, .changeNotification, .crossProcess] }

    // MARK: Keys

    func lockKey(_ name: LockName) -> String { "\(configuration.keyPrefix):lock:\(name.rawValue)" }
    func fenceKey(_ name: LockName) -> String { "\(configuration.keyPrefix):fence:\(name.rawValue)" }
    var channel: String { configuration.keyPrefix + ":changed" }
    var retentionMilliseconds: String { String(configuration.idleRetention.wholeMilliseconds) }

    // MARK: Locker

    /// Grants or refreshes a lease in one script; a forced takeover adds one guarded script.
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        let name = request.name
        var expected: Int64 = -1
        for _ in 0..<16 {
            let reply = try await evaluate(
                .acquire, name: name, keys: [lockKey(name), fenceKey(name)],
                arguments: acquireArguments(request, expectedVersion: expected))
            startStorageCheck()
            let items = reply.array ?? []
            switch items.first?.text {
            case "ok": return try Self.lease(holder: request.holder, items, name: name)
            case "stale": expected = -1
            case "held", "mismatch":
                let (state, now, version) = try Self.state(name: name, items)
                if let force = request.force, force.matches(state, at: now) {
                    expected = version
                    continue
                }
                subscriber.start()  // so a retry's wait is likely subscribed before the release
                if items.first?.text == "mismatch" {
                    throw .typeMismatch(name, existing: state.type, requested: request.type)
                }
                throw .held(name, holders: state.leases)
            default: throw Self.unexpected(reply, name: name)
            }
        }
        throw .backend("redis: the forced takeover of \"\(name)\" kept racing with other writers")
    }

    /// Extends the holder's lease in one script, or throws ``LockheedCore/LockheedError/lost(_:holder:)``.
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        let reply = try await evaluate(
            .renew, name: name, keys: [lockKey(name)],
            arguments: [holder, Self.milliseconds(duration), retentionMilliseconds])
        let items = reply.array ?? []
        switch items.first?.text {
        case "ok":
            return try Self.lease(holder: holder, items, name: name)
        case "lost": throw .lost(name, holder: holder)
        default: throw Self.unexpected(reply, name: name)
        }
    }

    /// Removes the holder's lease in one script and publishes the release.
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        let reply = try await evaluate(
            .release, name: name, keys: [lockKey(name)], arguments: releaseArguments(name, holder: holder))
        guard let removed = reply.int else { throw Self.unexpected(reply, name: name) }
        return removed == 1
    }

    /// Removes every lease when `condition` is `nil` or matches the state read just before;
    /// the write is guarded by the state's version, and retried if another writer came first.
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        for _ in 0..<16 {
            var expected: Int64 = -1
            if let condition {
                let entry = try await readStates([name]).first
                guard case .some(.found(let state, let now, let version)) = entry else {
                    if case .some(.malformed(let error)) = entry { throw error }
                    return []
                }
                guard condition.matches(state, at: now) else { return [] }
                expected = version
            }
            let reply = try await evaluate(
                .breakLock, name: name, keys: [lockKey(name)],
                arguments: [String(expected), retentionMilliseconds, channel, name.rawValue])
            let items = reply.array ?? []
            switch items.first?.text {
            case "ok":
                guard items.count == 3, let text = items[2].text else { throw Self.unexpected(reply, name: name) }
                return try Self.leases(text, name: name)
            case "stale": continue
            default: throw Self.unexpected(reply, name: name)
            }
        }
        throw .backend("redis: breaking \"\(name)\" kept racing with other writers")
    }

    /// The state of `name`, read atomically with the server's time.
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        switch try await readStates([name]).first {
        case .found(let state, _, _): return state
        case .malformed(let error): throw error
        case .missing, nil: return nil
        }
    }

    /// Every lock under the key prefix, found with `SCAN` in batches and read 500 at a time so
    /// the server is never blocked for long. Locks whose state is malformed are left out.
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        let pattern = "\(configuration.keyPrefix):lock:*"
        let keyPrefix = "\(configuration.keyPrefix):lock:"
        var cursor = "0"
        var names = Set<LockName>()
        repeat {
            let command = ["SCAN", cursor, "MATCH", pattern, "COUNT", "1000"]
            let reply = try await pool.command(command)
            guard let items = reply.array, items.count == 2, let next = items[0].text, let keys = items[1].array else {
                throw Self.unexpected(reply, name: nil)
            }
            cursor = next
            for key in keys {
                guard let text = key.text, text.hasPrefix(keyPrefix),
                    let name = try? LockName(String(text.dropFirst(keyPrefix.count)))
                else { continue }
                names.insert(name)
            }
        } while cursor != "0"
        var states: [LockState] = []
        let sorted = names.sorted()
        for start in stride(from: 0, to: sorted.count, by: 500) {
            let batch = Array(sorted[start..<min(start + 500, sorted.count)])
            for entry in try await readStates(batch) {
                if case .found(let state, let now, _) = entry, condition?.matches(state, at: now) ?? true {
                    states.append(state)
                }
            }
        }
        return states
    }

    /// Returns on a release or takeover message about `name` received after `since` (at once if
    /// one already was), or after `timeout`.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await subscriber.wait(for: name, since: since, timeout: timeout)
    }

    /// Stops the pool and subscriber threads and closes every connection.
    public func shutdown() async {
        await subscriber.shutdown()
        await pool.shutdown()
    }

    // MARK: Script calls

    /// The acquire script's arguments; `expectedVersion` -1 for a plain acquire, else the version
    /// a forced takeover requires.
    func acquireArguments(_ request: AcquireRequest, expectedVersion: Int64) -> [String] {
        let (kind, max) = Self.encode(request.type)
        return [
            request.holder, kind, String(max), Self.milliseconds(request.duration),
            request.tags.joined(separator: ","), request.resetTags ? "1" : "0", retentionMilliseconds,
            String(expectedVersion), channel, request.name.rawValue,
        ]
    }

    /// The release script's arguments.
    func releaseArguments(_ name: LockName, holder: String) -> [String] {
        [holder, retentionMilliseconds, channel, name.rawValue]
    }

    func evaluate(
        _ script: RedisScript, name: LockName?, keys: [String], arguments: [String]
    ) async throws(LockheedError) -> RedisValue {
        let tail = [String(keys.count)] + keys + arguments
        var reply = try await pool.command(["EVALSHA", script.sha1] + tail)
        if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
            reply = try await pool.command(["EVAL", script.source] + tail)
        }
        if case .error(let message) = reply { throw Self.scriptError(message, name: name) }
        return reply
    }

    enum ReadEntry {
        case found(LockState, now: Date, version: Int64)
        case malformed(LockheedError)
        case missing
    }

    func readStates(_ names: [LockName]) async throws(LockheedError) -> [ReadEntry] {
        var keys: [String] = []
        for name in names { keys += [lockKey(name), fenceKey(name)] }
        let reply = try await evaluate(.read, name: names.count == 1 ? names[0] : nil, keys: keys, arguments: [])
        guard let items = reply.array, items.count == names.count + 1 else { throw Self.unexpected(reply, name: nil) }
        var entries: [ReadEntry] = []
        for (name, item) in zip(names, items.dropFirst()) {
            let fields = item.array ?? []
            switch fields.first?.text {
            case "none": entries.append(.missing)
            case "ok":
                do throws(LockheedError) {
                    let (state, now, version) = try Self.state(name: name, fields)
                    entries.append(.found(state, now: now, version: version))
                } catch { entries.append(.malformed(error)) }
            case "incompatible": entries.append(.malformed(Self.scriptError(fields.last?.text ?? "", name: name)))
            default: entries.append(.malformed(Self.scriptError(fields.last?.text ?? "", name: name)))
            }
        }
        return entries
    }
}
