import Foundation
import LockheedCore
import Testing

@testable import LockheedSQLite

extension SQLiteBackendTests {
    /// A file system with no room left: writes are `.unavailable("disk full: …")`, never a lost
    /// lease or a hang, and work again once there is room.
    @Suite("SQLite full disk")
    struct SQLiteFullDiskTests {
        /// Fills the file system of `directory` with `filler` until a write fails.
        static func fill(_ filler: String) throws {
            let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard fd >= 0 else { throw RawDatabase.Failure(description: "cannot create \(filler)") }
            defer { close(fd) }
            let chunk = [UInt8](repeating: 0x55, count: 4096)
            for size in [4096, 512, 1] {
                while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) == size {}
            }
        }

        /// A new 2 MiB tmpfs mounted on a temporary directory.
        static func smallTmpfs() throws -> String {
            let directory = try makeTemporaryDirectory()
            try TestMounts.mountTmpfs(at: directory, bytes: 2 << 20)
            return directory
        }

        /// Unmounts and removes a directory made by ``smallTmpfs()``.
        static func remove(_ directory: String) {
            TestMounts.unmount(directory)
            try? FileManager.default.removeItem(atPath: directory)
        }

        @Test(.enabled(if: TestMounts.available, "mounting needs CAP_SYS_ADMIN"))
        func fullDiskIsUnavailableAndRecoversWhenThereIsRoom() async throws {
            let directory = try Self.smallTmpfs()
            defer { Self.remove(directory) }
            let locker = try SQLiteLocker(path: directory + "/locks.db")
            let job = try LockName("job")
            let other = try LockName("other")
            _ = try await locker.acquire(try AcquireRequest(name: job, holder: "a", duration: .seconds(30)))
            try Self.fill(directory + "/filler")

            for attempt in 0..<2 {
                let error = await #expect(throws: LockheedError.self) {
                    if attempt == 0 {
                        _ = try await locker.acquire(
                            try AcquireRequest(name: other, holder: "b", duration: .seconds(30)))
                    } else {
                        _ = try await locker.renew(job, holder: "a", duration: .seconds(30))
                    }
                }
                let message = error?.message ?? ""
                guard error?.code == .unavailable else {
                    Issue.record("expected .unavailable, got \(String(describing: error))")
                    continue
                }
                #expect(message.hasPrefix("disk full:") && message.contains(directory), "\(message)")
            }
            #expect(try await locker.state(of: job)?.leases.map(\.holder) == ["a"])

            unlink(directory + "/filler")
            _ = try await locker.renew(job, holder: "a", duration: .seconds(30))
            _ = try await locker.acquire(try AcquireRequest(name: other, holder: "b", duration: .seconds(30)))
            await locker.shutdown()
        }

        /// Opening checks the free space (statvfs) and warns below what SQLite's own files need.
        @Test(.enabled(if: TestMounts.available, "mounting needs CAP_SYS_ADMIN"))
        func littleFreeSpaceIsReportedWhenOpening() async throws {
            let directory = try Self.smallTmpfs()
            defer { Self.remove(directory) }
            let path = directory + "/locks.db"
            let warning = try #require(SQLiteFileAccess.lowSpaceWarning(for: path))
            #expect(warning.contains(directory) && warning.contains("bytes free"), "\(warning)")
            let roomy = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: roomy) }
            let free = try #require(SQLiteFileAccess.freeBytes(near: roomy + "/locks.db"))
            if free >= SQLiteFileAccess.recommendedFreeBytes {
                #expect(SQLiteFileAccess.lowSpaceWarning(for: roomy + "/locks.db") == nil)
            }
        }

        /// A failing backend is not a held lock: waiting up to a minute for the lock does not
        /// mean retrying a full disk for a minute.
        @Test(.enabled(if: TestMounts.available, "mounting needs CAP_SYS_ADMIN"))
        func lockWaitingForTheLockGivesUpOnAFullDiskAfterTheBackendTimeout() async throws {
            let directory = try Self.smallTmpfs()
            defer { Self.remove(directory) }
            let locker = try SQLiteLocker(path: directory + "/locks.db")
            try Self.fill(directory + "/filler")
            let lock = try Lock(LockName("job"), locker: locker).retry(.wait(upTo: .seconds(60)))
                .configure { $0.backendTimeout = .seconds(1) }

            let started = ContinuousClock.now
            let error = await #expect(throws: LockheedError.self) { try await lock.acquire() }
            let waited = ContinuousClock.now - started
            let message = error?.message ?? ""
            guard error?.code == .unavailable else {
                Issue.record("expected .unavailable, got \(String(describing: error))")
                return
            }
            #expect(message.hasPrefix("disk full:"), "\(message)")
            #expect(waited >= .seconds(1) && waited < .seconds(10), "gave up after \(waited)")
            await locker.shutdown()
        }
    }
}
