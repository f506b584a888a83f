import BenchmarkSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The floor: a bare libsqlite3 connection running the same two transactions as
/// `SQLiteLocker.acquire` and `.release` (same statements, same schema, same pragmas), with no
/// Swift layer, no thread hop and no state decoding. libsqlite3 is loaded with `dlopen`, since the
/// benchmark package cannot import the root package's `CSQLite` module.
final class BareSQLite {
    private typealias Open =
        @convention(c) (
            UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?, Int32, UnsafePointer<CChar>?
        ) -> Int32
    private typealias Prepare =
        @convention(c) (
            OpaquePointer?, UnsafePointer<CChar>?, Int32, UnsafeMutablePointer<OpaquePointer?>?,
            UnsafeMutablePointer<UnsafePointer<CChar>?>?
        ) -> Int32
    private typealias OnStatement = @convention(c) (OpaquePointer?) -> Int32
    private typealias BindText =
        @convention(c) (
            OpaquePointer?, Int32, UnsafePointer<CChar>?, Int32, (@convention(c) (UnsafeMutableRawPointer?) -> Void)?
        ) -> Int32
    private typealias BindInt64 = @convention(c) (OpaquePointer?, Int32, Int64) -> Int32
    private typealias BindNull = @convention(c) (OpaquePointer?, Int32) -> Int32
    private typealias ColumnInt64 = @convention(c) (OpaquePointer?, Int32) -> Int64
    private typealias ColumnText = @convention(c) (OpaquePointer?, Int32) -> UnsafePointer<UInt8>?
    private typealias BusyTimeout = @convention(c) (OpaquePointer?, Int32) -> Int32

    private let step: OnStatement
    private let reset: OnStatement
    private let finalize: OnStatement
    private let close: OnStatement
    private let bindText: BindText
    private let bindInt64: BindInt64
    private let bindNull: BindNull
    private let columnInt64: ColumnInt64
    private let columnText: ColumnText
    private let prepare: Prepare
    private let db: OpaquePointer
    private var statements: [OpaquePointer] = []
    private let name = strdup("bench")!
    private let holder: UnsafeMutablePointer<CChar>
    private let tags = strdup("[]")!
    private let kind = strdup("mutex")!

    private let begin, commit, rollback, selectLock, selectLeases, upsertLock, deleteLeases, insertLease: OpaquePointer

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// Opens `path` (a database with the backend's schema) for `holder`'s cycles.
    init(path: String, holder: String = "bench-holder") throws {
        self.holder = strdup(holder)!
        let library = try DynamicLibrary("libsqlite3.so.0")
        let open = try library.function("sqlite3_open_v2", as: Open.self)
        step = try library.function("sqlite3_step", as: OnStatement.self)
        reset = try library.function("sqlite3_reset", as: OnStatement.self)
        finalize = try library.function("sqlite3_finalize", as: OnStatement.self)
        close = try library.function("sqlite3_close_v2", as: OnStatement.self)
        bindText = try library.function("sqlite3_bind_text", as: BindText.self)
        bindInt64 = try library.function("sqlite3_bind_int64", as: BindInt64.self)
        bindNull = try library.function("sqlite3_bind_null", as: BindNull.self)
        columnInt64 = try library.function("sqlite3_column_int64", as: ColumnInt64.self)
        columnText = try library.function("sqlite3_column_text", as: ColumnText.self)
        let prepareStatement = try library.function("sqlite3_prepare_v2", as: Prepare.self)
        prepare = prepareStatement
        let stepStatement = try library.function("sqlite3_step", as: OnStatement.self)
        let finalizeStatement = try library.function("sqlite3_finalize", as: OnStatement.self)
        let busyTimeout = try library.function("sqlite3_busy_timeout", as: BusyTimeout.self)

        var handle: OpaquePointer?
        // SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, as the backend opens it.
        guard open(path, &handle, 0x0000_0002 | 0x0000_8000, nil) == 0, let handle else {
            throw Failure(description: "cannot open \(path)")
        }
        db = handle
        _ = busyTimeout(db, 5000)
        func make(_ sql: String) throws -> OpaquePointer {
            var statement: OpaquePointer?
            guard prepareStatement(handle, sql, -1, &statement, nil) == 0, let statement else {
                throw Failure(description: "cannot prepare \(sql)")
            }
            return statement
        }
        let synchronous = try make("PRAGMA synchronous = NORMAL")
        _ = stepStatement(synchronous)
        _ = finalizeStatement(synchronous)
        begin = try make("BEGIN IMMEDIATE")
        commit = try make("COMMIT")
        rollback = try make("ROLLBACK")
        selectLeases = try make(
            "SELECT holder, acquired_at, expires_at, fencing_token FROM leases WHERE lock = ?1 ORDER BY fencing_token")
        selectLock = try make("SELECT kind, max_holders, tags, fencing_counter FROM locks WHERE name = ?1")
        upsertLock = try make(
            """
            INSERT INTO locks (name, kind, max_holders, tags, fencing_counter) VALUES (?1, ?2, ?3, ?4, ?5)
            ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, max_holders = excluded.max_holders,
                tags = excluded.tags, fencing_counter = excluded.fencing_counter
            """)
        deleteLeases = try make("DELETE FROM leases WHERE lock = ?1")
        insertLease = try make(
            "INSERT INTO leases (lock, holder, acquired_at, expires_at, fencing_token) VALUES (?1, ?2, ?3, ?4, ?5)")
        statements = [begin, commit, rollback, selectLeases, selectLock, upsertLock, deleteLeases, insertLease]
    }

    deinit {
        for statement in statements { _ = finalize(statement) }
        _ = close(db)
        for pointer in [name, holder, tags, kind] { free(pointer) }
    }

    /// The acquire transaction: read the lock and its leases, bump the counter, write the lease.
    /// Returns `false` (rolling back) when another holder's unexpired lease is stored.
    @discardableResult
    func acquire(now: Int64) throws -> Bool {
        try run(begin)
        var counter: Int64 = 0
        var held = false
        try rows(selectLeases, name: true) { row in
            if let other = columnText(row, 0),
                strcmp(UnsafeRawPointer(other).assumingMemoryBound(to: CChar.self), holder) != 0,
                columnInt64(row, 2) > now
            {
                held = true
            }
        }
        try rows(selectLock, name: true) { counter = columnInt64($0, 3) }
        if held {
            try run(rollback)
            return false
        }
        counter += 1
        _ = bindText(upsertLock, 1, name, -1, nil)
        _ = bindText(upsertLock, 2, kind, -1, nil)
        _ = bindInt64(upsertLock, 3, 1)
        _ = bindText(upsertLock, 4, tags, -1, nil)
        _ = bindInt64(upsertLock, 5, counter)
        try run(upsertLock)
        try rows(deleteLeases, name: true) { _ in }
        _ = bindText(insertLease, 1, name, -1, nil)
        _ = bindText(insertLease, 2, holder, -1, nil)
        _ = bindInt64(insertLease, 3, now)
        _ = bindInt64(insertLease, 4, now + 30_000_000)
        _ = bindInt64(insertLease, 5, counter)
        try run(insertLease)
        try run(commit)
        return true
    }

    /// The release transaction: read the lock and its leases, delete the lease.
    func release() throws {
        try run(begin)
        try rows(selectLeases, name: true) { _ in }
        try rows(selectLock, name: true) { _ in }
        try rows(deleteLeases, name: true) { _ in }
        try run(commit)
    }

    private func run(_ statement: OpaquePointer) throws {
        try rows(statement, name: false) { _ in }
    }

    private func rows(_ statement: OpaquePointer, name bindName: Bool, _ row: (OpaquePointer) -> Void) throws {
        if bindName { _ = bindText(statement, 1, name, -1, nil) }
        defer { _ = reset(statement) }
        while true {
            switch step(statement) {
            case 100: row(statement)  // SQLITE_ROW
            case 101: return  // SQLITE_DONE
            case let code: throw Failure(description: "step failed with \(code)")
            }
        }
    }
}
