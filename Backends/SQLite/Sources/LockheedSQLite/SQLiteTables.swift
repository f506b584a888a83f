import Foundation
import LockheedCore
import Logging

/// Reads and writes whole ``LockState`` values in the `locks` and `leases` tables of one
/// connection. Not thread-safe: ``SQLiteLockStore`` keeps it in a `Mutex`, so one thread at a
/// time uses it.
final class SQLiteTables {
    let connection: SQLiteConnection

    /// Opens the file (creating it when missing) and brings its schema up to date. A file this
    /// process may read but not write is opened read-only: reads work, writes throw
    /// ``LockheedCore/LockheedError/forbidden(_:)`` naming what is not writable.
    init(path: String, configuration: SQLiteConfiguration, logger: Logger) throws(LockheedError) {
        connection = try Self.open(path, configuration, logger: logger)
    }

    private static func open(_ path: String, _ configuration: SQLiteConfiguration, logger: Logger)
        throws(LockheedError) -> SQLiteConnection
    {
        var attempts = 0
        while true {
            attempts += 1
            SQLiteFileAccess.createRemovingLeftovers(path)
            let connection: SQLiteConnection
            do {
                connection = try SQLiteConnection(path: path, busyTimeout: configuration.busyTimeout)
            } catch {
                // Deleted again between creating and opening it: create it again.
                if attempts < 3, access(path, F_OK) != 0, errno == ENOENT { continue }
                throw error
            }
            do {
                try SQLiteSchema.prepare(connection, synchronous: configuration.synchronous)
            } catch {
                if connection.hasMoved && attempts < 3 { continue }
                guard connection.isReadOnly else { throw error }
                // Reading a WAL database needs its -shm index; one that this process can neither
                // open nor create (a read-only directory or file system) is read without locks.
                let immutable = try SQLiteConnection(
                    path: path, busyTimeout: configuration.busyTimeout, mode: .immutable)
                try SQLiteSchema.prepare(immutable, synchronous: configuration.synchronous)
                return immutable
            }
            // Deleted or replaced while this connection was being prepared: open the new one.
            if connection.hasMoved && attempts < 3 { continue }
            if !connection.isReadOnly, let warning = SQLiteFileAccess.lowSpaceWarning(for: path) {
                logger.warning("\(warning)")
            }
            return connection
        }
    }

    /// The least fencing counter a grant at `now` starts from: the wall clock in microseconds
    /// since 1970. See ``update(_:_:)``.
    static func fencingFloor(at now: Date) -> UInt64 {
        UInt64(clamping: StoredTime.encode(now))
    }

    /// Applies `transition` to the stored state of `name` inside one `BEGIN IMMEDIATE` transaction:
    /// read, transition, write what changed. Returns the result and whether a lease went away
    /// (released, broken, taken over or expired), which is when waiters may have a chance.
    ///
    /// A grant's fencing token is the larger of the stored counter + 1 and the wall clock in
    /// microseconds since 1970 (+ 1): `transition` sees the counter raised to the clock (a lock never
    /// stored as a new state with that counter), and when it grants nothing the stored counter
    /// is kept. Tokens strictly rise while the counter is stored, and a lock whose counter was
    /// lost (a new lock, a deleted row, a deleted, re-created or older restored file) restarts
    /// above every token issued before, unless the wall clock was stepped back by more than the
    /// time since the lock's last grant. Leases (stored and returned) carry whole microseconds,
    /// as they read back.
    func update<Transition: LockTransition>(
        _ name: LockName, _ transition: Transition
    ) throws(LockheedError) -> (Transition.Outcome, vacated: Bool) {
        try connection.transaction("BEGIN IMMEDIATE") { () throws(LockheedError) in
            // The clock is read once the write lock is held, so times follow the commit order;
            // in whole microseconds, as times are stored.
            let now = StoredTime.decode(StoredTime.encode(Date()))
            let before = try read(name)
            let stored = before?.fencingCounter ?? 0
            let raised = max(stored, Self.fencingFloor(at: now))
            var presented = before ?? LockState(name: name)
            presented.fencingCounter = raised
            var state: LockState? = presented
            let result = try transition.apply(to: &state, now: now)
            if var after = state {
                state = nil  // `after` alone holds the leases: adjusting them copies nothing.
                // Nothing granted: the counter stays as stored.
                if after.fencingCounter == raised { after.fencingCounter = stored }
                for index in after.leases.indices where !StoredTime.isExact(after.leases[index]) {
                    after.leases[index] = StoredTime.roundTripped(after.leases[index])
                }
                // A lock never stored, left as it was presented, stays unstored.
                state = before == nil && after == LockState(name: name) ? nil : after
            }
            guard state != before else { return (StoredTime.roundTrippedIfLease(result), false) }
            try write(name, state, replacing: before)
            return (StoredTime.roundTrippedIfLease(result), Self.leaseWentAway(from: before, to: state))
        }
    }

    /// Whether a lease of `before` (by token) is not in `after`.
    private static func leaseWentAway(from before: LockState?, to after: LockState?) -> Bool {
        guard let before else { return false }
        let kept = after?.leases ?? []
        return before.leases.contains { old in !kept.contains { $0.fencingToken == old.fencingToken } }
    }

    /// The stored state of `name`, expired leases included.
    func read(_ name: LockName) throws(LockheedError) -> LockState? {
        let leases = try readLeases(of: name)
        return try connection.first(
            "SELECT kind, max_holders, tags, fencing_counter FROM locks WHERE name = ?1", name.rawValue
        ) { row throws(LockheedError) in try decode(name, row: RowSlice(row: row, offset: 0), leases: leases) }
    }

    /// One consistent snapshot of every stored lock. A malformed lock is reported through
    /// `malformed` and left out, so the others stay readable.
    func readAll(malformed: (LockheedError) -> Void) throws(LockheedError) -> [LockState] {
        try connection.transaction("BEGIN") { () throws(LockheedError) in
            var leases: [String: [Lease]] = [:]
            var badLeases: [String: LockheedError] = [:]
            _ = try connection.query(
                "SELECT lock, holder, acquired_at, expires_at, fencing_token FROM leases ORDER BY lock, fencing_token"
            ) { row in
                guard let lock = row.text(0) else { return }
                do throws(LockheedError) {
                    leases[lock, default: []].append(try decodeLease(row, offset: 1, lock: lock))
                } catch {
                    badLeases[lock] = error
                }
            }
            let rows = try connection.query(
                "SELECT name, kind, max_holders, tags, fencing_counter FROM locks ORDER BY name"
            ) {
                row throws(LockheedError) -> LockState? in
                guard let raw = row.text(0), let name = try? LockName(raw) else {
                    malformed(.backend("a stored lock has an invalid name: \(row.text(0) ?? "NULL")"))
                    return nil
                }
                if let error = badLeases[raw] {
                    malformed(error)
                    return nil
                }
                do throws(LockheedError) {
                    return try decode(name, row: RowSlice(row: row, offset: 1), leases: leases[raw] ?? [])
                } catch {
                    malformed(error)
                    return nil
                }
            }
            return rows.compactMap { $0 }
        }
    }

    // MARK: Writing

    private func write(_ name: LockName, _ state: LockState?, replacing before: LockState?) throws(LockheedError) {
        guard let state else {
            try connection.execute("DELETE FROM leases WHERE lock = ?1", name.rawValue)
            try connection.execute("DELETE FROM locks WHERE name = ?1", name.rawValue)
            return
        }
        if before?.type != state.type || before?.tags != state.tags || before?.fencingCounter != state.fencingCounter {
            try connection.execute(
                """
                INSERT INTO locks (name, kind, max_holders, tags, fencing_counter) VALUES (?1, ?2, ?3, ?4, ?5)
                ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, max_holders = excluded.max_holders,
                    tags = excluded.tags, fencing_counter = excluded.fencing_counter
                """,
                name.rawValue, state.type.kind, Int64(state.type.capacity), Self.encodeTags(state.tags),
                Int64(bitPattern: state.fencingCounter))
        }
        if before?.leases != state.leases {
            try connection.execute("DELETE FROM leases WHERE lock = ?1", name.rawValue)
            for lease in state.leases {
                try connection.execute(
                    """
                    INSERT INTO leases (lock, holder, acquired_at, expires_at, fencing_token)
                    VALUES (?1, ?2, ?3, ?4, ?5)
                    """,
                    name.rawValue, lease.holder, StoredTime.encode(lease.acquiredAt),
                    lease.expiresAt.map(StoredTime.encode), Int64(bitPattern: lease.fencingToken))
            }
        }
    }

    /// Tags as a JSON array. Validated tags contain no quote, backslash or control character,
    /// so no escaping is needed.
    static func encodeTags(_ tags: [String]) -> String {
        "[" + tags.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    // MARK: Reading

    private func readLeases(of name: LockName) throws(LockheedError) -> [Lease] {
        try connection.query(
            "SELECT holder, acquired_at, expires_at, fencing_token FROM leases WHERE lock = ?1 ORDER BY fencing_token",
            name.rawValue
        ) { row throws(LockheedError) in try decodeLease(row, offset: 0, lock: name.rawValue) }
    }

    private func decodeLease(_ row: SQLiteRow, offset: Int32, lock: String) throws(LockheedError) -> Lease {
        func malformed(_ detail: String) -> LockheedError {
            (try? LockName(lock)).map { .malformedState($0, detail: detail) }
                ?? .backend("a stored lease names an invalid lock: \(lock)")
        }
        guard let holder = row.text(offset), (try? Validation.validateHolder(holder)) != nil else {
            throw malformed("a lease has an invalid holder")
        }
        guard let acquired = row.integer(offset + 1) else { throw malformed("lease of \(holder): bad acquired_at") }
        let expires = row.integer(offset + 2)
        guard expires != nil || row.isNull(offset + 2) else {
            throw malformed("lease of \(holder): bad expires_at")
        }
        guard let token = row.integer(offset + 3) else { throw malformed("lease of \(holder): bad fencing_token") }
        return Lease(
            holder: holder, acquiredAt: StoredTime.decode(acquired), expiresAt: expires.map(StoredTime.decode),
            fencingToken: UInt64(bitPattern: token))
    }

    private func decode(_ name: LockName, row: RowSlice, leases: [Lease]) throws(LockheedError) -> LockState {
        let kind = row.text(0)
        guard let maxHolders = row.integer(1) else {
            throw .malformedState(name, detail: "max_holders is not an integer")
        }
        let type: LockType
        switch kind {
        case "mutex": type = .mutex
        case "shared" where maxHolders >= 1 && maxHolders <= Int64(Int32.max):
            type = .shared(maxHolders: Int(maxHolders))
        case "shared": throw .malformedState(name, detail: "shared lock with max_holders \(maxHolders)")
        default: throw .malformedState(name, detail: "unknown kind \(kind.map { "\"\($0)\"" } ?? "NULL")")
        }
        guard let tagsText = row.text(2), let tags = Self.decodeTags(tagsText) else {
            throw .malformedState(name, detail: "tags are not a JSON array of strings")
        }
        guard let counter = row.integer(3) else {
            throw .malformedState(name, detail: "fencing_counter is not an integer")
        }
        let fencingCounter = UInt64(bitPattern: counter)
        if let lease = leases.first(where: { $0.fencingToken > fencingCounter }) {
            throw .malformedState(
                name,
                detail: "lease of \(lease.holder) has token \(lease.fencingToken) above the counter \(fencingCounter)")
        }
        return LockState(name: name, type: type, leases: leases, tags: tags, fencingCounter: fencingCounter)
    }

    private static func decodeTags(_ text: String) -> [String]? {
        if text == "[]" { return [] }
        return try? JSONDecoder().decode([String].self, from: Data(text.utf8))
    }
}

/// A row read from a column offset on.
private struct RowSlice {
    let row: SQLiteRow
    let offset: Int32
    func text(_ column: Int32) -> String? { row.text(offset + column) }
    func integer(_ column: Int32) -> Int64? { row.integer(offset + column) }
}

/// Times are stored as whole microseconds since 1970 UTC.
enum StoredTime {
    /// The stored form of `date`.
    static func encode(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    /// The date a stored value stands for.
    static func decode(_ micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }

    /// `lease` with its times as they read back from storage, so callers see the same values
    /// whether a lease is returned by a write or read later.
    static func roundTripped(_ lease: Lease) -> Lease {
        var copy = lease
        copy.acquiredAt = decode(encode(lease.acquiredAt))
        copy.expiresAt = lease.expiresAt.map { decode(encode($0)) }
        return copy
    }

    /// Whether `lease`'s times are whole microseconds, as they read back from storage.
    static func isExact(_ lease: Lease) -> Bool {
        lease.acquiredAt == decode(encode(lease.acquiredAt))
            && lease.expiresAt.map { $0 == decode(encode($0)) } != false
    }

    /// `value` as it reads back from storage when it is a ``LockheedCore/Lease``, else unchanged.
    static func roundTrippedIfLease<T>(_ value: T) -> T {
        guard let lease = value as? Lease, let exact = roundTripped(lease) as? T else { return value }
        return exact
    }
}
