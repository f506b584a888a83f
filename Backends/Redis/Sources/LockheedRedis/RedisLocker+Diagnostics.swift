import LockheedCore
import Logging
import Synchronization

/// Warnings about the server's eviction policy: a server that may evict keys can lose held
/// leases and the fencing counter.
extension RedisLocker: LockerDiagnostics {
    /// Reads `INFO memory` and returns a warning when `maxmemory` is set and
    /// `maxmemory-policy` may evict this locker's keys: `allkeys-*` evicts every key, the
    /// fencing counter included; `volatile-*` evicts keys with a TTL, which every lock key with
    /// a lease carries. Empty when the server cannot be asked (unreachable, `INFO` not allowed).
    public func storageWarnings() async -> [String] {
        let reply: RedisValue
        do { reply = try await pool.command(["INFO", "memory"]) } catch {
            logger.debug("cannot read the redis eviction policy", metadata: ["error": "\(error)"])
            return []
        }
        guard let text = reply.text else { return [] }
        return Self.evictionWarnings(info: text)
    }

    /// The warning for an `INFO memory` reply, if its policy and limit call for one.
    static func evictionWarnings(info: String) -> [String] {
        var fields: [Substring: Substring] = [:]
        for line in info.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon]] = line[line.index(after: colon)...]
        }
        guard let policy = fields["maxmemory_policy"], let limit = fields["maxmemory"].flatMap({ Int($0) }), limit > 0
        else { return [] }
        let size = fields["maxmemory_human"].map(String.init) ?? "\(limit) bytes"
        if policy.hasPrefix("allkeys-") {
            return [
                "redis maxmemory-policy is \(policy) with maxmemory \(size): under memory pressure the server "
                    + "evicts lock keys (a held lease vanishes and another holder gets the lock) and the fencing "
                    + "counters (tokens then rest on the server's clock); set maxmemory-policy noeviction, or keep "
                    + "locks on a server that never evicts"
            ]
        }
        if policy.hasPrefix("volatile-") {
            return [
                "redis maxmemory-policy is \(policy) with maxmemory \(size): under memory pressure the server "
                    + "evicts lock keys, which carry a TTL (a held lease vanishes and another holder gets the lock); "
                    + "set maxmemory-policy noeviction, or keep locks on a server that never evicts"
            ]
        }
        return []
    }

    /// Checks the eviction policy once per locker, in the background, and logs what it finds
    /// as warnings.
    func checkStorageOnce() {
        storageCheck.withLock { task in
            guard task == nil else { return }
            task = Task { [self] in
                for warning in await storageWarnings() { logger.warning("\(warning)") }
            }
        }
    }
}
