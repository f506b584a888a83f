import Foundation
import LockheedCore
import PostgresNIO

/// Times cross the wire as whole microseconds since 1970 UTC (exact in both directions: the SQL
/// converts with `extract(epoch …)`, a `numeric`, and interval arithmetic).
enum StoredTime {
    /// Microseconds since 1970 of `date`.
    static func encode(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    /// The date `micros` stands for.
    static func decode(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
    /// Stands for a `NULL` expiry in arrays (postgres-nio's arrays hold no `NULL`s).
    static let never = Int64.min

    /// SQL turning a microsecond count into a `timestamptz`.
    static func timestamp(_ micros: String) -> String {
        "('epoch'::timestamptz + \(micros) * interval '1 microsecond')"
    }
    /// SQL turning a `timestamptz` into a microsecond count.
    static func micros(_ timestamp: String) -> String {
        "(extract(epoch FROM \(timestamp)) * 1000000)::bigint"
    }
}

/// The columns of one lock as read, before they are checked.
struct StoredLockRow {
    var kind: String
    var maxHolders: Int32
    var tags: [String]
    var fencingCounter: Int64
    var holders: [String]
    var acquired: [Int64]
    var expires: [Int64]
    var tokens: [Int64]

    /// The state these columns stand for, or ``LockheedCore/LockheedError/malformedState(_:detail:)``.
    func decode(_ name: LockName) throws(LockheedError) -> LockState {
        let type: LockType
        switch kind {
        case "mutex": type = .mutex
        case "shared" where maxHolders >= 1: type = .shared(maxHolders: Int(maxHolders))
        case "shared": throw .malformedState(name, detail: "shared lock with max_holders \(maxHolders)")
        default: throw .malformedState(name, detail: "unknown kind \"\(kind)\"")
        }
        guard fencingCounter >= 0 else {
            throw .malformedState(name, detail: "negative fencing_counter \(fencingCounter)")
        }
        for tag in tags where (try? Validation.validateTag(tag)) == nil {
            throw .malformedState(name, detail: "invalid tag \"\(tag)\"")
        }
        guard holders.count == acquired.count, holders.count == expires.count, holders.count == tokens.count else {
            throw .malformedState(name, detail: "lease columns disagree")
        }
        var leases: [Lease] = []
        for index in holders.indices {
            let holder = holders[index]
            guard (try? Validation.validateHolder(holder)) != nil else {
                throw .malformedState(name, detail: "a lease has an invalid holder")
            }
            guard tokens[index] > 0, tokens[index] <= fencingCounter else {
                throw .malformedState(
                    name,
                    detail: "lease of \(holder) has token \(tokens[index]) outside 1...\(fencingCounter) (the counter)")
            }
            leases.append(
                Lease(
                    holder: holder, acquiredAt: StoredTime.decode(acquired[index]),
                    expiresAt: expires[index] == StoredTime.never ? nil : StoredTime.decode(expires[index]),
                    fencingToken: UInt64(tokens[index])))
        }
        return LockState(name: name, type: type, leases: leases, tags: tags, fencingCounter: UInt64(fencingCounter))
    }
}

extension LockType {
    /// The stored `kind` column.
    var storedKind: String {
        if case .shared = self { return "shared" }
        return "mutex"
    }
    /// The stored `max_holders` column.
    var storedMaxHolders: Int32 {
        if case .shared(let maxHolders) = self { return Int32(clamping: maxHolders) }
        return 1
    }
}
