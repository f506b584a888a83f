import Foundation
import LockheedCore

/// Turning script replies into core values.
extension RedisLocker {
    static func encode(_ type: LockType) -> (kind: String, max: Int) {
        switch type {
        case .mutex: ("mutex", 1)
        case .shared(let maxHolders): ("shared", maxHolders)
        }
    }

    static func milliseconds(_ duration: Duration?) -> String {
        duration.map { String($0.wholeMilliseconds) } ?? "-1"
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(milliseconds) / 1000)
    }

    /// `{ok, now, acquiredMs, expiresMs, token}` → a lease.
    static func lease(holder: String, _ items: [RedisValue], name: LockName) throws(LockheedError) -> Lease {
        guard items.count == 5, let acquired = items[2].int, let expires = items[3].int,
            let token = items[4].text.flatMap({ UInt64($0) })
        else { throw .backend("redis: unexpected reply for \"\(name)\": \(items)") }
        return Lease(
            holder: holder, acquiredAt: date(milliseconds: acquired),
            expiresAt: expires < 0 ? nil : date(milliseconds: expires), fencingToken: token)
    }

    /// Parses lease lines `holder acquiredMs expiresMs token`.
    static func leases(_ text: String, name: LockName) throws(LockheedError) -> [Lease] {
        var leases: [Lease] = []
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 4, let acquired = Int64(parts[1]), let expires = Int64(parts[2]),
                let token = UInt64(parts[3])
            else { throw .malformedState(name, detail: "bad lease line \"\(line)\"") }
            leases.append(
                Lease(
                    holder: String(parts[0]), acquiredAt: date(milliseconds: acquired),
                    expiresAt: expires < 0 ? nil : date(milliseconds: expires), fencingToken: token))
        }
        return leases.sorted { $0.fencingToken < $1.fencingToken }
    }

    /// `{status, now, kind, max, tags, leases, version, counter}` → state, server time, version.
    static func state(name: LockName, _ items: [RedisValue]) throws(LockheedError) -> (LockState, Date, Int64) {
        guard items.count == 8, let now = items[1].int, let kind = items[2].text, let max = items[3].int,
            let tags = items[4].text, let leaseText = items[5].text, let version = items[6].int,
            let counter = items[7].text.flatMap({ UInt64($0) })
        else { throw .malformedState(name, detail: "unreadable state reply") }
        let type: LockType = kind == "shared" ? .shared(maxHolders: Int(max)) : .mutex
        let state = LockState(
            name: name, type: type, leases: try leases(leaseText, name: name),
            tags: tags.split(separator: ",").map(String.init), fencingCounter: counter)
        return (state, date(milliseconds: now), version)
    }

    /// Maps a script's error reply: our own malformed/incompatible markers, then server errors.
    static func scriptError(_ message: String, name: LockName?) -> LockheedError {
        if let range = message.range(of: "LOCKHEED_MALFORMED ") {
            let detail = String(message[range.upperBound...])
            if let name { return .malformedState(name, detail: detail) }
            return .backend("redis: \(detail)")
        }
        if let range = message.range(of: "LOCKHEED_INCOMPATIBLE ") {
            return .incompatibleStorage(String(message[range.upperBound...]))
        }
        if message.hasPrefix("WRONGTYPE"), let name { return .malformedState(name, detail: message) }
        return RedisConnection.mapError(message)
    }

    static func unexpected(_ reply: RedisValue, name: LockName?) -> LockheedError {
        .backend("redis: unexpected reply\(name.map { " for \"\($0)\"" } ?? ""): \(reply)")
    }
}
