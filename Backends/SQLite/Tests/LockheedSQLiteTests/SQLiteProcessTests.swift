import Foundation
import LockheedConformance
import LockheedCore
import LockheedSQLite
import LockheedTestSupport
import Testing

extension SQLiteBackendTests {
    /// Several OS processes (the `SQLiteContender` helper) sharing one database file.
    @Suite("SQLite across processes", .serialized)
    struct SQLiteProcessTests {
        let fixture: SQLiteFixture
        let contender: String

        init() throws {
            fixture = try SQLiteFixture()
            contender = try #require(
                ChildProcess.builtProduct(named: "SQLiteContender"), "SQLiteContender must be built beside the tests")
        }

        @Test func contendingProcessesAreMutuallyExclusiveWithRisingTokens() async throws {
            // Create the schema first so the processes do not all start on an empty file.
            try await SQLiteLocker(path: fixture.path).shutdown()
            let history = try await ContentionHistory.runContenderProcesses(
                executable: contender, count: 4, minimumSections: 20
            ) { path in ["contend", fixture.path, "shared-job", "3", path] }
            let locker = try SQLiteLocker(path: fixture.path)
            let state = try #require(try await locker.state(of: LockName("shared-job")))
            #expect(state.fencingCounter == history.intervals.map(\.token).max(), "the counter is the last token")
            #expect(Set(history.intervals.map(\.token)).count == history.intervals.count)
            #expect(state.leases.isEmpty)
            await locker.shutdown()
            await fixture.tearDown()
        }

        @Test func holderKilledWithSIGKILLLeavesASoundFileAndItsLeaseExpiresOnTime() async throws {
            let name = try LockName("killed-job")
            let marker = fixture.directory + "/held.txt"
            let log = fixture.directory + "/contenders.log"
            // A 1-second lease renewed every 20 ms: the kill most likely lands during a write.
            let holder = try ChildProcess.spawn(
                executable: contender, arguments: ["hold", fixture.path, name.rawValue, "1000", marker], outputPath: log
            )
            let held = await poll(within: .seconds(20)) { FileManager.default.fileExists(atPath: marker) }
            try #require(held, "the holder never acquired the lock; see \(log)")
            try await Task.sleep(for: .milliseconds(300))
            holder.signal(SIGKILL)
            #expect(await holder.waitForExit() == 128 + SIGKILL)

            let raw = try RawDatabase(path: fixture.path)
            #expect(try raw.string("PRAGMA integrity_check") == "ok")
            let locker = try SQLiteLocker(path: fixture.path)
            let lease = try #require(
                try await locker.state(of: name)?.leases.first, "the killed holder's lease is still active")
            let expiresAt = try #require(lease.expiresAt)
            let refused = await #expect(throws: LockheedError.self) {
                try await locker.acquire(AcquireRequest(name: name, holder: "impatient", duration: .seconds(5)))
            }
            #expect(refused.map { $0.code == .held } == true)

            let result = fixture.directory + "/acquired.txt"
            let next = try ChildProcess.spawn(
                executable: contender, arguments: ["acquire", fixture.path, name.rawValue, "10", result],
                outputPath: log)
            #expect(await next.waitForExit() == 0)
            let fields = try String(contentsOfFile: result, encoding: .utf8).split(whereSeparator: \.isWhitespace)
            let token = try #require(UInt64(fields[0]))
            let acquiredAt = Date(timeIntervalSince1970: Double(try #require(Int64(fields[1]))) / 1_000_000)
            #expect(token > lease.fencingToken)
            #expect(acquiredAt >= expiresAt, "acquired before the lease expired")
            #expect(acquiredAt.timeIntervalSince(expiresAt) < 1.0, "acquired long after the lease expired")
            await locker.shutdown()
            await fixture.tearDown()
        }

        /// `lockheed exec` started by cron or CI on a new machine: many processes open a file that
        /// does not exist yet, all at once. Every one must get its lock.
        @Test func sixteenProcessesOpeningANewFileAllSucceed() async throws {
            let (rounds, count) = (20, 16)
            var failures: [String] = []
            for round in 0..<rounds {
                let path = "\(fixture.directory)/round-\(round).db"
                let log = "\(fixture.directory)/round-\(round).log"
                let results = (0..<count).map { "\(fixture.directory)/round-\(round)-\($0).txt" }
                let children = try results.map { result in
                    try ChildProcess.spawn(
                        executable: contender, arguments: ["acquire", path, "first-use", "30", result], outputPath: log)
                }
                for child in children {
                    let status = await child.waitForExit()
                    if status != 0 {
                        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                        failures.append("round \(round): exit \(status): \(output)")
                    }
                }
                let tokens = results.compactMap { try? String(contentsOfFile: $0, encoding: .utf8) }
                    .compactMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { UInt64($0) } }
                #expect(Set(tokens).count == tokens.count, "round \(round) repeated a token: \(tokens.sorted())")
            }
            #expect(failures.isEmpty, "\(failures.count) of \(rounds * count) processes failed: \(failures.prefix(5))")
            await fixture.tearDown()
        }

        private func poll(within timeout: Duration, _ condition: () -> Bool) async -> Bool {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if condition() { return true }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return condition()
        }
    }
}
