import Foundation
import LockheedCore
import LockheedSQLite
import Testing

extension SQLiteBackendTests {
    /// The database file deleted or replaced while lockers have it open (`rm locks.db*`, a restore
    /// from backup): nobody keeps working on the unlinked file, and tokens never repeat.
    @Suite("SQLite file deleted or replaced")
    struct SQLiteReplacedFileTests {
        let fixture: SQLiteFixture
        let job: LockName

        init() throws {
            fixture = try SQLiteFixture()
            job = try LockName("job")
        }

        func request(_ holder: String) throws -> AcquireRequest {
            try AcquireRequest(name: job, holder: holder, duration: .seconds(30))
        }

        @Test func deletedFileWithItsWALIsReopenedAndTheOldLeaseIsLost() async throws {
            let holder = try await fixture.makeLocker()
            let old = try await holder.acquire(request("a")).fencingToken
            for suffix in ["", "-wal", "-shm"] { unlink(fixture.path + suffix) }

            // A new process on the same path gets a new file; its token is above the lost one.
            let newcomer = try await fixture.makeLocker()
            let granted = try await newcomer.acquire(request("b")).fencingToken
            #expect(granted > old, "token \(granted) after deleting the file must exceed \(old)")
            // The holder does not renew on the unlinked file: its lease is not in the new one.
            let error = await #expect(throws: LockheedError.self) {
                try await holder.renew(job, holder: "a", duration: .seconds(30))
            }
            #expect(
                error.map { $0.code == .lost } == true, "got \(String(describing: error))")
            #expect(try await holder.state(of: job)?.leases.map(\.holder) == ["b"])
            await fixture.tearDown()
        }

        @Test func deletedMainFileAloneIsNoticedByOldAndNewLockers() async throws {
            let holder = try await fixture.makeLocker()
            let old = try await holder.acquire(request("a")).fencingToken
            unlink(fixture.path)

            let newcomer = try await fixture.makeLocker()
            let granted = try await newcomer.acquire(request("b")).fencingToken
            #expect(granted > old)
            let error = await #expect(throws: LockheedError.self) {
                try await holder.renew(job, holder: "a", duration: .seconds(30))
            }
            #expect(
                error.map { $0.code == .lost } == true, "got \(String(describing: error))")
            await #expect(throws: LockheedError.self) { try await holder.acquire(request("c")) }
            #expect(try await newcomer.release(job, holder: "b"))
            #expect(try await holder.acquire(request("c")).fencingToken > granted)
            #expect(try RawDatabase(path: fixture.path).string("PRAGMA integrity_check") == "ok")
            await fixture.tearDown()
        }

        @Test func replacedFileIsReadFromItsReplacement() async throws {
            let holder = try await fixture.makeLocker()
            _ = try await holder.acquire(request("a"))
            let other = fixture.directory + "/restored.db"
            let restorer = try SQLiteLocker(path: other)
            _ = try await restorer.acquire(
                try AcquireRequest(name: try LockName("restored"), holder: "r", duration: nil))
            await restorer.shutdown()
            // As SQLite requires, the old file's -wal and -shm go with it; the holder keeps them open.
            for suffix in ["-wal", "-shm"] { unlink(fixture.path + suffix) }
            #expect(rename(other, fixture.path) == 0)

            let error = await #expect(throws: LockheedError.self) {
                try await holder.renew(job, holder: "a", duration: .seconds(30))
            }
            #expect(
                error.map { $0.code == .lost } == true, "got \(String(describing: error))")
            #expect(try await holder.list().map(\.name.rawValue) == ["restored"])
            await fixture.tearDown()
        }

        @Test func removedDirectoryIsUnavailableAndSaysWhy() async throws {
            let holder = try await fixture.makeLocker()
            _ = try await holder.acquire(request("a"))
            try FileManager.default.removeItem(atPath: fixture.directory)

            let error = await #expect(throws: LockheedError.self) {
                try await holder.renew(job, holder: "a", duration: .seconds(30))
            }
            let message = error?.message ?? ""
            guard error?.code == .unavailable else {
                Issue.record("expected .unavailable, got \(String(describing: error))")
                return
            }
            #expect(message.contains("removed or replaced"), "\(message)")
            #expect(message.contains(fixture.path), "\(message)")
            await fixture.tearDown()
        }
    }
}
