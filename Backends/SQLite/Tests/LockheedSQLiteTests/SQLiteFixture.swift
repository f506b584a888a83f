import Foundation
import LockheedConformance
import LockheedCore
import LockheedSQLite
import Synchronization

/// A fresh database file per test; every ``makeLocker()`` opens another connection to it, as
/// another process would. The hooks edit the file with raw SQL.
final class SQLiteFixture: ConformanceFixture {
    let directory: String
    let path: String
    private let opened = Mutex<[SQLiteLocker]>([])

    init() throws {
        directory = try makeTemporaryDirectory()
        path = directory + "/locks.db"
    }

    var capabilities: ConformanceCapabilities { .all }

    func makeLocker() async throws -> any Locker {
        let locker = try SQLiteLocker(path: path)
        opened.withLock { $0.append(locker) }
        return locker
    }

    /// A client, and another connection that freezes it by holding the database in an
    /// exclusive transaction: the client's next write waits in SQLite's busy handler, which no
    /// cancellation reaches, as another process holding the file would make it.
    func makeFreezableClient() async throws -> FreezableClient {
        let locker = try await makeLocker()
        let blocker = try RawDatabase(path: path)
        return FreezableClient(
            locker: locker,
            freeze: { try blocker.execute("BEGIN EXCLUSIVE") },
            // Thawing twice finds no transaction to commit: nothing to do.
            thaw: { try? blocker.execute("COMMIT") })
    }

    func expireLeases(of name: LockName) async throws {
        try RawDatabase(path: path).execute(
            "UPDATE leases SET expires_at = \(nowMicros() - 1000) WHERE lock = '\(name)'")
    }

    func deleteLock(_ name: LockName) async throws {
        try RawDatabase(path: path).execute(
            "BEGIN IMMEDIATE; DELETE FROM leases WHERE lock = '\(name)'; DELETE FROM locks WHERE name = '\(name)'; COMMIT"
        )
    }

    func corruptState(of name: LockName) async throws {
        try RawDatabase(path: path).execute(
            """
            INSERT INTO locks (name, kind, max_holders, tags, fencing_counter) VALUES ('\(name)', 'mutex', 1, '{garbage', 0)
            ON CONFLICT (name) DO UPDATE SET tags = '{garbage'
            """)
    }

    /// Deletes the database file with its `-wal` and `-shm`, as `rm locks.db*` would: every
    /// locker must notice, and the re-created file must issue tokens above the lost ones.
    func loseFencingCounter(of name: LockName) async throws {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }

    func tearDown() async {
        for locker in opened.withLock({ $0 }) { await locker.shutdown() }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
