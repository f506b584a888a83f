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
    public func storageWarnings() async -> [String] { await evictionWarnings(idleOnly: false) ?? [] }

    /// The warnings, or `nil` when the server could not be asked now (unreachable, or with
    /// `idleOnly` no idle connection), so a later call may ask again; a refused `INFO` (an ACL
    /// without it) counts as an answer with no warning.
    func evictionWarnings(idleOnly: Bool) async -> [String]? {
        let reply: RedisValue
        do throws(LockheedError) {
            let command = ["INFO", "memory"]
            guard let answer = idleOnly ? try await pool.commandIfIdle(command) : try await pool.command(command)
            else { return nil }
            reply = answer
        } catch {
            logger.debug("cannot read the redis eviction policy", metadata: ["error": "\(error)"])
            switch error.code {
            case .unavailable, .timedOut, .cancelled: return nil
            default: return []
            }
        }
        guard let text = reply.text else {
            logger.debug("cannot read the redis eviction policy", metadata: ["reply": "\(reply)"])
            return []
        }
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

    /// Starts the check of the eviction policy once per locker, after an acquire's reply, in
    /// the background and only on a connection that is idle then: it never delays a command
    /// or opens a connection, and a lease's first moments (when its keeper's margin is
    /// thinnest) carry no extra round trip. What it finds is logged as warnings. When it could
    /// not ask within a few tries, the next acquire starts it again.
    func startStorageCheck() {
        let start = storageCheck.withLock { check in
            guard check == .pending else { return false }
            check = .running
            return true
        }
        guard start else { return }
        Task { [self] in
            // A busy locker may have no idle connection for a moment: a few tries, 20 ms to 320 ms apart.
            var warnings: [String]?
            for attempt in 0..<5 {
                warnings = await evictionWarnings(idleOnly: true)
                if warnings != nil { break }
                try? await Task.sleep(for: .milliseconds(20 << attempt))
            }
            storageCheck.withLock { $0 = warnings == nil ? .pending : .done }
            for warning in warnings ?? [] { logger.warning("\(warning)") }
        }
    }
}

/// Where a locker's one check of the eviction policy stands.
enum StorageCheck: Sendable {
    /// Not asked yet, or the last attempt could not ask.
    case pending
    /// Asking now.
    case running
    /// Asked and, if needed, warned.
    case done
}
