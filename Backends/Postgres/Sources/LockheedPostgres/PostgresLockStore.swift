import Foundation
import LockheedCore
import Logging
import PostgresNIO
import Synchronization

/// Whole lock states in PostgreSQL: one `locks` row and its `leases` rows per lock, in the
/// configured schema. Every ``update(_:_:)`` is one transaction: the lock row is locked
/// (`SELECT … FOR UPDATE`), the leases and the server's `clock_timestamp()` are read once that
/// lock is held, the core's transition runs here, and only what changed is written back.
/// Releases, takeovers and breaks `NOTIFY` the schema's channel with the lock's name.
public final class PostgresLockStore: LockStateStore {
    /// Where the store connects.
    public let configuration: PostgresConfiguration
    let pool: PostgresConnectionPool
    let listener: PostgresListener
    private let schemaReady = Atomic<Bool>(false)
    private let logger: Logger
    private let locks: String
    private let leases: String

    /// A store on `configuration`'s server. Nothing connects until the first operation, which
    /// creates or migrates the schema.
    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "lockheed.postgres"))
        throws(LockheedError)
    {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        pool = try PostgresConnectionPool(configuration: configuration, logger: logger)
        listener = PostgresListener(pool: pool, channel: configuration.channel, logger: logger)
        locks = "\"\(configuration.schema)\".locks"
        leases = "\"\(configuration.schema)\".leases"
    }

    /// `"postgres"`.
    public var backendName: String { "postgres" }

    /// Shared locks, other processes' changes, and wake-ups by `LISTEN`/`NOTIFY`.
    public var capabilities: LockerCapabilities { [.sharedLocks, .crossProcess, .changeNotification] }

    // MARK: LockStateStore

    /// Applies `transition` to `name`'s state in one transaction, retried after a serialization
    /// failure, a deadlock or a concurrent first insert of the lock row.
    public func update<Transition: LockTransition>(
        _ name: LockName, _ transition: Transition
    ) async throws(LockheedError) -> Transition.Outcome {
        try await prepareSchema()
        let retries = configuration.transactionRetries
        return try await pool.withConnection { connection in
            var attempt = 0
            while true {
                do {
                    return try await self.transaction(connection, name, transition)
                } catch let error where attempt < retries && (error is RowRace || PostgresErrors.isRetried(error)) {
                    attempt += 1
                    try? await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                }
            }
        }
    }

    /// `name`'s stored state and the server's time, in one statement (one snapshot).
    public func read(_ name: LockName) async throws(LockheedError) -> (state: LockState?, now: Date) {
        try await prepareSchema()
        let (rows, now) = try await selectStates(of: name)
        return (try rows.first.map { row throws(LockheedError) in try row.1.decode(name) }, now)
    }

    /// Every stored state and the server's time, in one statement. A lock whose row cannot be
    /// read is logged and left out, so the others stay listed.
    public func readAll() async throws(LockheedError) -> (states: [LockState], now: Date) {
        try await prepareSchema()
        let (rows, now) = try await selectStates(of: nil)
        var states: [LockState] = []
        for (raw, row) in rows {
            do throws(LockheedError) {
                guard let name = try? LockName(raw) else { throw .backend("a stored lock has an invalid name") }
                states.append(try row.decode(name))
            } catch {
                logger.warning("skipping a lock whose stored state cannot be read", metadata: ["error": "\(error)"])
            }
        }
        return (states, now)
    }

    /// Returns when a `NOTIFY` for `name` arrives after `since` (or the listening connection was
    /// re-established, when one may have been missed), or after `timeout`.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        listener.start()
        try await listener.notifier.wait(for: name, since: since, timeout: timeout)
    }

    /// Stops listening and closes every connection.
    public func shutdown() async {
        await listener.stop()
        await pool.shutdown()
    }

    // MARK: The transaction

    /// Another transaction inserted the lock row between this one's read and insert.
    private struct RowRace: Error {}

    private func transaction<Transition: LockTransition>(
        _ connection: PostgresConnection, _ name: LockName, _ transition: Transition
    ) async throws -> Transition.Outcome {
        let logger = self.logger
        try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await transact(connection, name, transition)
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            try await PostgresErrors.rollBack(connection, after: error, logger: logger)
        }
    }

    private func transact<Transition: LockTransition>(
        _ connection: PostgresConnection, _ name: LockName, _ transition: Transition
    ) async throws -> Transition.Outcome {
        let key = name.rawValue
        let row = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT kind, max_holders, tags, fencing_counter FROM \(locks) WHERE name = $1 FOR UPDATE",
                binds: binds(key)), logger: logger
        ).collect().first
        // Read once the row lock is held, so the leases are the last committed ones and "now"
        // follows the commit order.
        let leaseRow = try await connection.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT \(StoredTime.micros("clock_timestamp()")),
                        coalesce(array_agg(holder ORDER BY fencing_token), '{}'),
                        coalesce(array_agg(\(StoredTime.micros("acquired_at")) ORDER BY fencing_token), '{}'),
                        coalesce(array_agg(coalesce(\(StoredTime.micros("expires_at")), \(StoredTime.never))
                            ORDER BY fencing_token), '{}'),
                        coalesce(array_agg(fencing_token ORDER BY fencing_token), '{}')
                    FROM \(leases) WHERE lock = $1
                    """, binds: binds(key)), logger: logger
        ).collect().first
        guard let leaseRow else { throw LockheedError.backend("postgres returned no row for the clock") }
        let (nowMicros, holders, acquired, expires, tokens) = try leaseRow.decode(
            (Int64, [String], [Int64], [Int64], [Int64]).self)
        let now = StoredTime.decode(nowMicros)
        let before: LockState
        let exists: Bool
        if let row {
            let (kind, maxHolders, tags, counter) = try row.decode((String, Int32, [String], Int64).self)
            let stored = StoredLockRow(
                kind: kind, maxHolders: maxHolders, tags: tags, fencingCounter: counter, holders: holders,
                acquired: acquired, expires: expires, tokens: tokens)
            before = try stored.decode(name)
            exists = true
        } else {
            // A missing row: never granted, or deleted out of band with its counter. The counter
            // restarts at the server's clock in microseconds, above every token issued before
            // (one grant takes far longer than a microsecond). Leftover leases are dropped.
            before = LockState(name: name, fencingCounter: UInt64(max(nowMicros, 0)))
            exists = false
        }
        var state: LockState? = before
        let result = try transition.apply(to: &state, now: now)
        guard let after = state else {
            throw LockheedError.backend("the postgres store never deletes a lock row")
        }
        if after == before && (exists || holders.isEmpty) { return result }
        try await write(connection, name, before: before, after: after, exists: exists, hadRows: holders)
        return result
    }

    private func write(
        _ connection: PostgresConnection, _ name: LockName, before: LockState, after: LockState, exists: Bool,
        hadRows: [String]
    ) async throws {
        let key = name.rawValue
        let counter = Int64(clamping: after.fencingCounter)
        if !exists {
            let inserted = try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(locks) (name, kind, max_holders, tags, fencing_counter)
                        VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING 1
                        """,
                    binds: binds(key, after.type.storedKind, after.type.storedMaxHolders, after.tags, counter)),
                logger: logger
            ).collect()
            if inserted.isEmpty { throw RowRace() }
        } else if before.type != after.type || before.tags != after.tags
            || before.fencingCounter != after.fencingCounter
        {
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        UPDATE \(locks) SET kind = $2, max_holders = $3, tags = $4,
                            fencing_counter = GREATEST(fencing_counter, $5) WHERE name = $1
                        """,
                    binds: binds(key, after.type.storedKind, after.type.storedMaxHolders, after.tags, counter)),
                logger: logger)
        }
        let keptHolders = after.leases.map(\.holder)
        let removed = hadRows.filter { !keptHolders.contains($0) }
        if !removed.isEmpty {
            // Release, takeover, break or expiry: waiters on this lock are told after commit.
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        WITH gone AS (DELETE FROM \(leases) WHERE lock = $1 AND holder = ANY($2))
                        SELECT pg_notify($3, $1)
                        """, binds: binds(key, removed, configuration.channel)), logger: logger)
        }
        let changed = after.leases.filter { exists ? !before.leases.contains($0) : true }
        if !changed.isEmpty {
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(leases) (lock, holder, acquired_at, expires_at, fencing_token)
                        SELECT $1, holder, \(StoredTime.timestamp("acquired")),
                            CASE WHEN expires = \(StoredTime.never) THEN NULL ELSE \(StoredTime.timestamp("expires")) END,
                            token
                        FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(holder, acquired, expires, token)
                        ON CONFLICT (lock, holder) DO UPDATE SET acquired_at = excluded.acquired_at,
                            expires_at = excluded.expires_at, fencing_token = excluded.fencing_token
                        """,
                    binds: binds(
                        key, changed.map(\.holder), changed.map { StoredTime.encode($0.acquiredAt) },
                        changed.map { $0.expiresAt.map(StoredTime.encode) ?? StoredTime.never },
                        changed.map { Int64(clamping: $0.fencingToken) })), logger: logger)
        }
    }

    // MARK: Reading

    /// Lock rows (of `name`, or all) with their leases as arrays, and the server's time.
    private func selectStates(of name: LockName?) async throws(LockheedError) -> ([(String, StoredLockRow)], Date) {
        let filter = name == nil ? "true" : "l.name = $1"
        let lease = { (column: String) in
            "ARRAY(SELECT \(column) FROM \(self.leases) e WHERE e.lock = l.name ORDER BY e.fencing_token)"
        }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT \(StoredTime.micros("clock_timestamp()")), l.name, l.kind, l.max_holders, l.tags,
                    l.fencing_counter, \(lease("e.holder")), \(lease(StoredTime.micros("e.acquired_at"))),
                    \(lease("coalesce(\(StoredTime.micros("e.expires_at")), \(StoredTime.never))")),
                    \(lease("e.fencing_token"))
                FROM (SELECT 1) AS one LEFT JOIN \(locks) l ON \(filter) ORDER BY l.name
                """, binds: name.map { binds($0.rawValue) } ?? binds())
        let logger = self.logger
        return try await pool.withConnection { connection in
            let rows = try await connection.query(query, logger: logger).collect()
            var now = Date()
            var result: [(String, StoredLockRow)] = []
            for row in rows {
                let (micros, raw, kind, maxHolders, tags, counter, holders, acquired, expires, tokens) = try row.decode(
                    (Int64, String?, String?, Int32?, [String]?, Int64?, [String], [Int64], [Int64], [Int64]).self)
                now = StoredTime.decode(micros)
                guard let raw else { continue }
                result.append(
                    (
                        raw,
                        StoredLockRow(
                            kind: kind ?? "", maxHolders: maxHolders ?? 0, tags: tags ?? [],
                            fencingCounter: counter ?? -1, holders: holders, acquired: acquired, expires: expires,
                            tokens: tokens)
                    ))
            }
            return (result, now)
        }
    }

    /// Creates or migrates the schema once per store (again after a failure).
    func prepareSchema() async throws(LockheedError) {
        if schemaReady.load(ordering: .acquiring) { return }
        let configuration = self.configuration
        let logger = self.logger
        try await pool.withConnection { connection in
            try await PostgresSchema.prepare(connection, configuration: configuration, logger: logger)
        }
        schemaReady.store(true, ordering: .releasing)
    }
}

/// Bindings for a query with `$1…$n` placeholders.
func binds(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
    var bindings = PostgresBindings(capacity: values.count)
    for value in values { bindings.append(value) }
    return bindings
}
