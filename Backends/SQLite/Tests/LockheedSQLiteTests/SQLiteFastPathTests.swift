import Foundation
import LockheedCore
import LockheedSQLite
import Synchronization
import Testing

extension SQLiteBackendTests {
    /// Operations run on the caller's thread while the database is free and move to the store's
    /// worker thread when it is busy: a busy database never holds a cooperative thread, never
    /// surfaces "database is locked" before the busy timeout, and the connection is never used
    /// by two threads at once.
    @Suite("SQLite caller's thread and worker")
    struct SQLiteFastPathTests {
        let fixture: SQLiteFixture

        init() throws { fixture = try SQLiteFixture() }

        /// Four lockers (more than the cooperative pool's threads here) acquire while another
        /// connection holds the write lock. Waiting in SQLite's busy handler on the callers'
        /// threads would stall every task of the process, this test's sleep included, until the
        /// busy timeout; failing at once would surface "database is locked".
        @Test func busyDatabaseIsAwaitedOnTheWorkerWithoutBlockingCallers() async throws {
            var configuration = SQLiteConfiguration()
            configuration.busyTimeout = .seconds(20)
            let lockers = try (0..<4).map { _ in try SQLiteLocker(path: fixture.path, configuration: configuration) }
            let blocker = try RawDatabase(path: fixture.path)
            try blocker.execute("BEGIN EXCLUSIVE")

            let acquiring = try lockers.enumerated().map { index, locker in
                let request = try AcquireRequest(
                    name: LockName("job-\(index)"), holder: "holder-\(index)", duration: .seconds(30))
                return Task { try await locker.acquire(request) }
            }
            let started = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(200))
            let slept = ContinuousClock.now - started
            #expect(slept < .seconds(10), "a 200 ms sleep took \(slept) while the database was busy")
            try blocker.execute("ROLLBACK")

            for task in acquiring {
                let result = await task.result
                #expect(throws: Never.self, "an acquire failed instead of waiting") { try result.get() }
            }
            for locker in lockers { await locker.shutdown() }
            await fixture.tearDown()
        }

        /// Many tasks on one locker, while another connection keeps taking the write lock so
        /// that some operations run on the worker and others on their callers' threads at the
        /// same time. A connection used by two threads at once fails (misuse, corrupt reads) or
        /// crashes; under `--sanitize=thread` it is reported as a race.
        @Test func manyTasksOnOneLockerShareItsConnectionSafely() async throws {
            let locker = try await fixture.makeLocker()
            let names = try (0..<4).map { try LockName("shared-\($0)") }
            let stop = StopFlag()
            let path = fixture.path
            let interferer = Thread {
                guard let raw = try? RawDatabase(path: path) else { return }
                while !stop.isSet {
                    try? raw.execute("BEGIN IMMEDIATE")
                    usleep(2_000)
                    try? raw.execute("COMMIT")
                    usleep(1_000)
                }
            }
            interferer.start()

            let outcomes = await withTaskGroup(of: [String].self) { group in
                for task in 0..<16 {
                    group.addTask {
                        var problems: [String] = []
                        for cycle in 0..<100 {
                            let name = names[(task + cycle) % names.count]
                            do {
                                let request = try AcquireRequest(
                                    name: name, holder: "task-\(task)", duration: .seconds(30))
                                _ = try await locker.acquire(request)
                                let released = try await locker.release(name, holder: "task-\(task)")
                                if !released {
                                    problems.append("release of a granted lease returned false")
                                }
                            } catch let error as LockheedError where error.isTransient && !error.isBackendFailure {
                                continue  // held by another task: expected
                            } catch {
                                problems.append("\(error)")
                            }
                        }
                        return problems
                    }
                }
                return await group.reduce(into: [String]()) { $0 += $1 }
            }
            stop.set()
            #expect(outcomes.isEmpty, "\(outcomes.count) failures: \(outcomes.prefix(3))")
            for name in names {
                #expect(try await locker.state(of: name)?.leases.isEmpty != false)
            }
            #expect(try RawDatabase(path: fixture.path).string("PRAGMA integrity_check") == "ok")
            await fixture.tearDown()
        }
    }
}

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
