import CSQLite
import Foundation
import LockheedCore

/// A statement's text: a literal, whose prepared statement is found by the literal's address
/// (no hashing of the text on the hot path), or text built at run time.
struct SQL: ExpressibleByStringLiteral, CustomStringConvertible {
    fileprivate enum Key {
        case literal(UInt)
        case text(String)
    }
    private enum Text {
        case literal(StaticString)
        case text(String)
    }
    private let text: Text

    init(stringLiteral value: StaticString) { text = .literal(value) }

    /// Text built at run time.
    init(_ text: String) { self.text = .text(text) }

    fileprivate var key: Key {
        switch text {
        case .literal(let literal): .literal(UInt(bitPattern: literal.utf8Start))
        case .text(let text): .text(text)
        }
    }

    /// The statement's text.
    var description: String {
        switch text {
        case .literal(let literal): literal.description
        case .text(let text): text
        }
    }
}

/// One result row; valid only inside the closure that receives it.
struct SQLiteRow {
    fileprivate let statement: OpaquePointer

    /// The column's storage class (`SQLITE_INTEGER`, `SQLITE_TEXT`, `SQLITE_NULL`...).
    func type(_ column: Int32) -> Int32 { sqlite3_column_type(statement, column) }

    /// Whether the column is NULL.
    func isNull(_ column: Int32) -> Bool { type(column) == SQLITE_NULL }

    /// The column as an integer, or `nil` unless it is stored as one.
    func integer(_ column: Int32) -> Int64? {
        type(column) == SQLITE_INTEGER ? sqlite3_column_int64(statement, column) : nil
    }

    /// The column as text, or `nil` unless it is stored as text.
    func text(_ column: Int32) -> String? {
        guard type(column) == SQLITE_TEXT, let bytes = sqlite3_column_text(statement, column) else { return nil }
        return String(cString: bytes)
    }
}

/// One libsqlite3 connection and its prepared statements.
///
/// Not thread-safe and deliberately not `Sendable`: ``SQLiteLockStore`` keeps it inside a
/// `Mutex`, so one thread at a time uses it.
final class SQLiteConnection {
    /// The database file.
    let path: String
    /// How long a statement waits for another connection's lock.
    let busyTimeout: Duration
    /// How the file was opened.
    let mode: Mode
    private let handle: OpaquePointer
    /// Prepared statements of literals by the literal's address: a handful, found by a linear
    /// scan faster than hashing.
    private var literalStatements: [(address: UInt, statement: SQLiteStatement)] = []
    private var textStatements: [String: SQLiteStatement] = [:]
    /// Whether a statement currently waits up to ``busyTimeout`` for another connection's lock
    /// (else it fails at once with `SQLITE_BUSY`).
    private var waitsWhenBusy = true
    /// When the current wait for another connection's lock began.
    private var busySince: ContinuousClock.Instant?
    /// Whether the last error mapped was `SQLITE_BUSY` or `SQLITE_LOCKED`.
    private(set) var lastErrorWasBusy = false

    /// How a connection opens its file.
    enum Mode {
        /// Read and write an existing file (SQLite itself falls back to read-only when the file
        /// or its file system is not writable: see ``SQLiteConnection/isReadOnly``).
        case readWrite
        /// Read only, without locking: for a WAL database whose `-shm` this process can neither
        /// open nor create (a read-only directory or file system). Reads may miss changes that
        /// a writer with more rights is making at the same moment.
        case immutable
    }

    /// Opens the database file at `path` (it must exist); nothing is read or written yet.
    init(path: String, busyTimeout: Duration, mode: Mode = .readWrite) throws(LockheedError) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.mode = mode
        var db: OpaquePointer?
        // NOMUTEX: this connection is never used by two threads at once (see SQLiteLocker).
        let code: Int32
        switch mode {
        case .readWrite:
            code = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        case .immutable:
            let uri = "file:" + Self.uriEscaped(path) + "?immutable=1"
            code = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nil)
        }
        guard code == SQLITE_OK, let db else {
            let error = Self.mapOpenError(code: code, errno: db.map { sqlite3_system_errno($0) } ?? 0, path: path)
            sqlite3_close_v2(db)
            throw error
        }
        handle = db
        sqlite3_extended_result_codes(db, 0)
        sqlite3_busy_handler(
            db,
            { context, attempt in
                guard let context else { return 0 }
                let connection = Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue()
                return connection.waitOnceWhenBusy(attempt: attempt) ? 1 : 0
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// SQLite's busy handler: sleeps a little and returns `true` to try again, or `false` to
    /// fail with `SQLITE_BUSY` (at once when ``waitWhenBusy(_:)`` is off, else after
    /// ``busyTimeout``). SQLite's own handler sleeps 1, 2, 5, 10… ms, so a process that just
    /// committed takes the lock again and again while the others sleep; jittered sleeps of
    /// 0.25–0.5 ms growing to 2–4 ms let 4 contending processes take turns (cycles per process
    /// within 1.2× of each other, against 2.5× with SQLite's handler) at the same total rate
    /// (Benchmarks/README.md; shorter sleeps took turns as well but completed fewer cycles).
    private func waitOnceWhenBusy(attempt: Int32) -> Bool {
        guard waitsWhenBusy else { return false }
        let now = ContinuousClock.now
        if attempt == 0 { busySince = now }
        guard let busySince, now - busySince < busyTimeout else { return false }
        let longest = UInt32(min(500 + Int(attempt) * 100, 4_000))
        usleep(UInt32.random(in: longest / 2...longest))
        return true
    }

    /// Makes statements wait up to ``busyTimeout`` for another connection's lock (`true`), or
    /// fail at once with `SQLITE_BUSY` (`false`, then ``lastErrorWasBusy`` tells it apart).
    func waitWhenBusy(_ wait: Bool) {
        lastErrorWasBusy = false
        waitsWhenBusy = wait
    }

    /// `path` as the path of a `file:` URI.
    private static func uriEscaped(_ path: String) -> String {
        path.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "?", with: "%3f")
            .replacingOccurrences(of: "#", with: "%23")
    }

    /// Whether this connection can only read (the file, its directory or its file system is not
    /// writable by this process, or it was opened ``Mode/immutable``).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// Whether the file this connection has open is no longer the one at ``path`` (deleted,
    /// renamed or replaced). One `stat` of the path, compared with the inode opened.
    var hasMoved: Bool {
        var moved: Int32 = 0
        return sqlite3_file_control(handle, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved != 0
    }

    deinit {
        // Statements are finalized before the connection is closed.
        literalStatements.removeAll()
        textStatements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs `sql` (one statement) with `values` bound to its parameters, to completion.
    func execute<each V: SQLiteBindable>(_ sql: SQL, _ values: repeat each V) throws(LockheedError) {
        let statement = try prepared(sql, binding: repeat each values)
        defer { sqlite3_reset(statement) }
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return }
            guard code == SQLITE_ROW else { throw error(code, sql) }
        }
    }

    /// Runs `sql` with `values` bound and maps its first result row with `read`.
    func first<each V: SQLiteBindable, T>(
        _ sql: SQL, _ values: repeat each V, read: (SQLiteRow) throws(LockheedError) -> T
    ) throws(LockheedError) -> T? {
        let statement = try prepared(sql, binding: repeat each values)
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        if code == SQLITE_DONE { return nil }
        guard code == SQLITE_ROW else { throw error(code, sql) }
        return try read(SQLiteRow(statement: statement))
    }

    /// Runs `sql` with `values` bound and maps every result row with `read`.
    func query<each V: SQLiteBindable, T>(
        _ sql: SQL, _ values: repeat each V, read: (SQLiteRow) throws(LockheedError) -> T
    ) throws(LockheedError) -> [T] {
        let statement = try prepared(sql, binding: repeat each values)
        // Bindings are kept (every call binds every parameter again), so SQLite reuses their memory.
        defer { sqlite3_reset(statement) }
        var rows: [T] = []
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { return rows }
            guard code == SQLITE_ROW else { throw error(code, sql) }
            rows.append(try read(SQLiteRow(statement: statement)))
        }
    }

    /// The single integer the query returns (a pragma, a count).
    func integer(_ sql: SQL) throws(LockheedError) -> Int64 {
        guard let first = try first(sql, read: { row in row.integer(0) }), let value = first else {
            throw .backend("\"\(sql)\" returned no integer on \(path)")
        }
        return value
    }

    /// Whether a transaction is open.
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` between `begin` (`BEGIN IMMEDIATE` or `BEGIN`) and `COMMIT`, rolling back if
    /// it throws.
    func transaction<T>(_ begin: SQL, _ body: () throws(LockheedError) -> T) throws(LockheedError) -> T {
        try execute(begin)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    /// The prepared statement of `sql` with `values` bound to its parameters.
    private func prepared<each V: SQLiteBindable>(_ sql: SQL, binding values: repeat each V) throws(LockheedError)
        -> OpaquePointer
    {
        let statement = try prepared(sql)
        let code = statement.bind(repeat each values)
        guard code == SQLITE_OK else {
            sqlite3_reset(statement.handle)
            throw error(code, sql)
        }
        return statement.handle
    }

    private func prepared(_ sql: SQL) throws(LockheedError) -> SQLiteStatement {
        let key = sql.key
        switch key {
        case .literal(let address):
            for entry in literalStatements where entry.address == address { return entry.statement }
        case .text(let text):
            if let statement = textStatements[text] { return statement }
        }
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v3(
            handle, sql.description, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            sqlite3_finalize(prepared)
            throw error(code, sql)
        }
        let statement = SQLiteStatement(handle: prepared)
        switch key {
        case .literal(let address): literalStatements.append((address, statement))
        case .text(let text): textStatements[text] = statement
        }
        return statement
    }

    /// Maps a failed call's result code to the error callers can act on.
    func error(_ code: Int32, _ sql: SQL) -> LockheedError {
        let message = String(cString: sqlite3_errmsg(handle))
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED:
            lastErrorWasBusy = true
            return .timedOut(
                "database \(path) stayed locked by another connection for longer than the busy timeout (\(busyTimeout)): \(message)"
            )
        case SQLITE_NOTADB:
            return .incompatibleStorage("\(path) is not a SQLite database; it was left unchanged")
        case SQLITE_CORRUPT:
            return .incompatibleStorage("database \(path) is corrupt: \(message)")
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH:
            return .forbidden(
                "cannot write database \(path): \(SQLiteFileAccess.unwritableReason(of: path) ?? message)")
        case SQLITE_CANTOPEN:
            return Self.mapOpenError(code: code, errno: sqlite3_system_errno(handle), path: path)
        case SQLITE_FULL:
            return .unavailable(SQLiteFileAccess.diskFull(path, message))
        case SQLITE_IOERR where sqlite3_system_errno(handle) == ENOSPC:
            return .unavailable(SQLiteFileAccess.diskFull(path, message))
        case SQLITE_IOERR, SQLITE_PROTOCOL:
            return .unavailable("I/O error on database \(path): \(message)")
        case SQLITE_INTERRUPT:
            return .cancelled
        default:
            return .backend("SQLite error \(code) on \(path) (\(sql)): \(message)")
        }
    }

    private static func mapOpenError(code: Int32, errno: Int32, path: String) -> LockheedError {
        let reason = errno != 0 ? String(cString: strerror(errno)) : String(cString: sqlite3_errstr(code))
        let directory = SQLiteFileAccess.directory(of: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            return .unavailable("cannot open database \(path): its directory \(directory) does not exist")
        }
        let unwritable = SQLiteFileAccess.unwritableReason(of: path)
        switch errno {
        case EACCES, EPERM, EROFS:
            return .forbidden("cannot open database \(path): \(unwritable ?? reason)")
        case ENOENT:
            // The directory exists but the file could not be created in it.
            return .forbidden("cannot create database \(path): \(unwritable ?? "\(reason) in \(directory)")")
        default:
            return .unavailable("cannot open database \(path): \(reason)")
        }
    }
}
