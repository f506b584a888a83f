import Foundation
import LockheedCore
import LockheedSQLite
import LockheedTestSupport
import Testing

extension SQLiteBackendTests {
    /// A database that this process may read but not write: `list` and `state` work, and a write
    /// says exactly what is not writable.
    @Suite("SQLite read-only database")
    struct SQLiteReadOnlyTests {
        let job: LockName

        init() throws { job = try LockName("job") }

        /// Root, `setpriv`, and a built contender whose path every user may traverse and run.
        static var canRunContenderAsNobody: Bool {
            guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                let contender = ChildProcess.builtProduct(named: "SQLiteContender")
            else { return false }
            var path = URL(fileURLWithPath: contender).standardizedFileURL
            while path.path != "/" {
                var info = stat()
                guard stat(path.path, &info) == 0, info.st_mode & S_IXOTH != 0 else { return false }
                path.deleteLastPathComponent()
            }
            return true
        }

        /// A database with one lock held by `a` forever, closed (so its -wal and -shm are gone).
        func makeDatabase(in directory: String) async throws -> String {
            let path = directory + "/locks.db"
            let writer = try SQLiteLocker(path: path)
            _ = try await writer.acquire(try AcquireRequest(name: job, holder: "a", duration: nil))
            await writer.shutdown()
            return path
        }

        @Test(.enabled(if: TestMounts.available, "mounting needs CAP_SYS_ADMIN"))
        func readOnlyFileSystemIsReadableAndWritesNameIt() async throws {
            let source = try makeTemporaryDirectory()
            let view = try makeTemporaryDirectory()
            defer {
                TestMounts.unmount(view)
                try? FileManager.default.removeItem(atPath: view)
                try? FileManager.default.removeItem(atPath: source)
            }
            _ = try await makeDatabase(in: source)
            try TestMounts.bindReadOnly(source, at: view)

            let reader = try SQLiteLocker(path: view + "/locks.db")
            #expect(try await reader.list().map(\.name) == [job])
            #expect(try await reader.state(of: job)?.leases.map(\.holder) == ["a"])
            let error = await #expect(throws: LockheedError.self) {
                try await reader.acquire(
                    try AcquireRequest(name: LockName("other"), holder: "b", duration: .seconds(5)))
            }
            let message = error?.message ?? ""
            guard error?.code == .forbidden else {
                Issue.record("expected .forbidden, got \(String(describing: error))")
                return
            }
            #expect(message.contains("read-only file system") && message.contains(view), "\(message)")
            // Not a failure that waiting cures: a Lock waiting a minute for the lock gives up at once.
            let lock = try Lock(LockName("other"), locker: reader).retry(.wait(upTo: .seconds(60)))
            let started = ContinuousClock.now
            await #expect(throws: LockheedError.self) { try await lock.acquire() }
            #expect(ContinuousClock.now - started < .seconds(10))
            await reader.shutdown()

            let created = #expect(throws: LockheedError.self) { try SQLiteLocker(path: view + "/new.db") }
            let creating = created?.message ?? ""
            guard created?.code == .forbidden else {
                Issue.record("expected .forbidden, got \(String(describing: created))")
                return
            }
            #expect(creating.contains("read-only file system") && creating.contains(view), "\(creating)")
        }

        /// Root ignores permission bits, so the reader runs as `nobody` in a child process.
        @Test(
            .enabled(
                if: SQLiteReadOnlyTests.canRunContenderAsNobody,
                "needs root, setpriv, and a SQLiteContender that other users may run"))
        func directoryOfAnotherUserIsReadableAndWritesNameIt() async throws {
            let contender = try #require(ChildProcess.builtProduct(named: "SQLiteContender"))
            let directory = try makeTemporaryDirectory()
            let results = try makeTemporaryDirectory()
            defer {
                try? FileManager.default.removeItem(atPath: directory)
                try? FileManager.default.removeItem(atPath: results)
            }
            chmod(directory, 0o755)
            chmod(results, 0o777)
            let path = try await makeDatabase(in: directory)

            func runAsNobody(_ database: String) async throws -> [String] {
                let output = results + "/\(UUID().uuidString).txt"
                let child = try ChildProcess.spawn(
                    executable: "/usr/bin/setpriv",
                    arguments: [
                        "--reuid=65534", "--regid=65534", "--clear-groups", contender, "readonly", database, "other",
                        "0",
                        output,
                    ],
                    outputPath: results + "/log.txt")
                let status = await child.waitForExit()
                let log = (try? String(contentsOfFile: results + "/log.txt", encoding: .utf8)) ?? ""
                try #require(status == 0, "the reader exited with \(status): \(log)")
                return try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)
            }

            let existing = try await runAsNobody(path)
            #expect(existing.first == "job", "list as nobody: \(existing)")
            #expect(existing.last?.contains("not writable") == true, "\(existing)")
            #expect(existing.last?.contains(directory) == true, "\(existing)")

            let new = try await runAsNobody(directory + "/new.db")
            #expect(new.first == "open failed", "\(new)")
            #expect(new.last?.contains("not writable") == true, "\(new)")
            #expect(new.last?.contains("No such file") == false, "\(new)")
        }
    }
}
