import Foundation
import LockheedCore

/// The database layout, its version (`PRAGMA user_version`) and the migrations between versions.
///
/// Version 1:
/// - `locks`: one row per lock ever stored: `name`, `kind` (`mutex`/`shared`), `max_holders`,
///   `tags` (a JSON array of strings) and `fencing_counter` (kept across releases and expiries).
/// - `leases`: one row per lease: `lock`, `holder`, `acquired_at` and `expires_at` (microseconds
///   since 1970 UTC; `expires_at` NULL means never) and `fencing_token`.
enum SQLiteSchema {
    /// The version this build writes.
    static let currentVersion: Int64 = 1

    /// `PRAGMA application_id` of a Lockheed database: "LKHD".
    static let applicationID: Int64 = 0x4C4B_4844

    /// `migrations[n]` takes a database from version `n` to `n + 1`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE locks (
                name TEXT PRIMARY KEY NOT NULL,
                kind TEXT NOT NULL,
                max_holders INTEGER NOT NULL,
                tags TEXT NOT NULL,
                fencing_counter INTEGER NOT NULL
            ) STRICT, WITHOUT ROWID
            """,
            """
            CREATE TABLE leases (
                lock TEXT NOT NULL,
                holder TEXT NOT NULL,
                acquired_at INTEGER NOT NULL,
                expires_at INTEGER,
                fencing_token INTEGER NOT NULL,
                PRIMARY KEY (lock, holder)
            ) STRICT, WITHOUT ROWID
            """,
        ]
    ]

    /// Checks the file and brings it to ``currentVersion``.
    ///
    /// A file of another application, or of a newer schema version, is refused with
    /// ``LockheedError/incompatibleStorage(_:)`` before anything is written to it. Safe when any
    /// number of processes open a new file at once: the checks read one snapshot (a `BEGIN`
    /// transaction), and creating the schema re-checks and writes in one `BEGIN IMMEDIATE`
    /// transaction, so no process sees a half-made schema. A `SQLITE_BUSY` that SQLite returns
    /// without waiting (it does so to avoid deadlocks, and when changing the journal mode) is
    /// retried until the busy timeout.
    static func prepare(_ connection: SQLiteConnection, synchronous: SQLiteConfiguration.Synchronous)
        throws(LockheedError)
    {
        try retryingBusy(connection) { () throws(LockheedError) in
            // Reading the header first: a file that is not a database fails here, unaltered.
            let version = try connection.transaction("BEGIN") { () throws(LockheedError) in try check(connection) }
            if version < currentVersion {
                guard !connection.isReadOnly else {
                    let reason = SQLiteFileAccess.unwritableReason(of: connection.path) ?? "it was opened read-only"
                    throw .forbidden("cannot create the Lockheed schema in \(connection.path): \(reason)")
                }
                try migrate(connection)
            }
            // Outside any transaction (SQLite refuses to change the journal mode inside one).
            if !connection.isReadOnly { try enableWAL(connection) }
        }
        try connection.execute(SQL("PRAGMA synchronous = \(synchronous == .full ? "FULL" : "NORMAL")"))
    }

    private static func migrate(_ connection: SQLiteConnection) throws(LockheedError) {
        try connection.transaction("BEGIN IMMEDIATE") { () throws(LockheedError) in
            // Another process may have migrated while this one waited for the write lock.
            var version = try check(connection)
            guard version < currentVersion else { return }
            while version < currentVersion {
                for statement in migrations[Int(version)] { try connection.execute(SQL(statement)) }
                version += 1
            }
            try connection.execute(SQL("PRAGMA application_id = \(applicationID)"))
            try connection.execute(SQL("PRAGMA user_version = \(currentVersion)"))
        }
    }

    /// Runs `body` again while it throws ``LockheedError/timedOut(_:)`` before the busy timeout
    /// has passed since the first attempt.
    private static func retryingBusy(_ connection: SQLiteConnection, _ body: () throws(LockheedError) -> Void)
        throws(LockheedError)
    {
        let deadline = ContinuousClock.now + connection.busyTimeout
        while true {
            do {
                return try body()
            } catch {
                guard error.code == .timedOut, ContinuousClock.now < deadline else { throw error }
                usleep(UInt32.random(in: 2_000...10_000))
            }
        }
    }

    /// A file without a Lockheed version but with tables belongs to another application.
    private static func refuseForeignTables(_ connection: SQLiteConnection) throws(LockheedError) {
        let tables = try connection.integer(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if tables > 0 {
            throw .incompatibleStorage(
                "\(connection.path) is a SQLite database of another application (it has tables but no Lockheed schema); it was left unchanged"
            )
        }
    }

    /// Returns the stored schema version after refusing files this build must not touch. Call it
    /// inside a transaction, so its reads see one snapshot.
    private static func check(_ connection: SQLiteConnection) throws(LockheedError) -> Int64 {
        let application = try connection.integer("PRAGMA application_id")
        let version = try connection.integer("PRAGMA user_version")
        if application != 0 && application != applicationID {
            throw .incompatibleStorage(
                "\(connection.path) belongs to another application (application_id \(application)); it was left unchanged"
            )
        }
        if version > currentVersion {
            throw .incompatibleStorage(
                "\(connection.path) has Lockheed schema version \(version), newer than this build's \(currentVersion); upgrade Lockheed (the file was left unchanged)"
            )
        }
        if version < 0 || (application == 0 && version != 0) {
            throw .incompatibleStorage(
                "\(connection.path) has user_version \(version) but no Lockheed application_id; it was left unchanged")
        }
        if version == 0 { try refuseForeignTables(connection) }
        return version
    }

    private static func enableWAL(_ connection: SQLiteConnection) throws(LockheedError) {
        let mode = try connection.query("PRAGMA journal_mode") { row in row.text(0) }.first ?? nil
        guard mode?.lowercased() != "wal" else { return }
        let result = try connection.query("PRAGMA journal_mode = WAL") { row in row.text(0) }.first ?? nil
        guard result?.lowercased() == "wal" else {
            throw .backend("could not switch \(connection.path) to WAL journal mode (got \(result ?? "nothing"))")
        }
    }
}
