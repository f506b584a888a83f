import Foundation
import LockheedCore
import LockheedSQLite
import Testing

extension SQLiteBackendTests {
    /// Behaviour specific to the SQLite storage: busy files, malformed rows, persistence.
    @Suite("SQLite storage")
    struct SQLiteStorageTests {
        let fixture: SQLiteFixture
        let job: LockName

        init() throws {
            fixture = try SQLiteFixture()
            job = try LockName("job")
        }

        func request(_ holder: String, _ name: LockName? = nil) throws -> AcquireRequest {
            try AcquireRequest(name: name ?? job, holder: holder, duration: .seconds(30))
        }

        @Test func databaseLockedBeyondTheBusyTimeoutTimesOutAndChangesNothing() async throws {
            var configuration = SQLiteConfiguration()
            configuration.busyTimeout = .milliseconds(300)
            let locker = try SQLiteLocker(path: fixture.path, configuration: configuration)
            _ = try await locker.acquire(request("a"))
            let blocker = try RawDatabase(path: fixture.path)
            try blocker.execute("BEGIN EXCLUSIVE")

            let started = ContinuousClock.now
            let error = await #expect(throws: LockheedError.self) { try await locker.release(job, holder: "a") }
            let waited = ContinuousClock.now - started
            guard error?.code == .timedOut else {
                Issue.record("expected .timedOut, got \(String(describing: error))")
                return
            }
            #expect(waited >= .milliseconds(250))
            #expect(waited < .seconds(3))

            try blocker.execute("ROLLBACK")
            #expect(try await locker.state(of: job)?.leases.map(\.holder) == ["a"])
            #expect(try await locker.release(job, holder: "a"))
            await locker.shutdown()
            await fixture.tearDown()
        }

        @Test func fencingCounterSurvivesReleaseExpiryAndReopening() async throws {
            let first = try await fixture.makeLocker()
            var tokens: [UInt64] = []
            tokens.append(try await first.acquire(request("a")).fencingToken)
            #expect(try await first.release(job, holder: "a"))
            tokens.append(try await first.acquire(request("b")).fencingToken)
            try await fixture.expireLeases(of: job)
            tokens.append(try await first.acquire(request("c")).fencingToken)
            #expect(try await first.release(job, holder: "c"))
            await first.shutdown()

            let reopened = try SQLiteLocker(path: fixture.path)
            #expect(try await reopened.state(of: job)?.fencingCounter == tokens.last)
            tokens.append(try await reopened.acquire(request("d")).fencingToken)
            #expect(zip(tokens, tokens.dropFirst()).allSatisfy { $0 < $1 }, "tokens \(tokens) must strictly rise")
            await reopened.shutdown()
            await fixture.tearDown()
        }

        /// Tokens start from the wall clock in microseconds, so a lost counter restarts above them.
        @Test func tokensAreAtLeastTheClockInMicroseconds() async throws {
            let locker = try await fixture.makeLocker()
            let before = UInt64(nowMicros())
            let token = try await locker.acquire(request("a")).fencingToken
            #expect(token > before)
            #expect(token <= UInt64(nowMicros()) + 1)
            await fixture.tearDown()
        }

        @Test func leaseReadBackEqualsLeaseGranted() async throws {
            let locker = try await fixture.makeLocker()
            let other = try await fixture.makeLocker()
            let granted = try await locker.acquire(request("a"))
            #expect(try await other.state(of: job)?.leases == [granted])
            let renewed = try await locker.renew(job, holder: "a", duration: .milliseconds(1234))
            #expect(try await other.state(of: job)?.leases == [renewed])
            await fixture.tearDown()
        }

        @Test func malformedRowsAreTypedErrorsAndListSkipsThem() async throws {
            let locker = try await fixture.makeLocker()
            let names = try ["good", "bad-kind", "bad-tags", "bad-lease", "bad-shared"].map(LockName.init)
            for name in names { _ = try await locker.acquire(request("a", name)) }
            let raw = try RawDatabase(path: fixture.path)
            try raw.execute("UPDATE locks SET kind = 'semaphore' WHERE name = 'bad-kind'")
            try raw.execute("UPDATE locks SET tags = '[1, 2]' WHERE name = 'bad-tags'")
            try raw.execute("UPDATE leases SET holder = 'two words' WHERE lock = 'bad-lease'")
            try raw.execute("UPDATE locks SET kind = 'shared', max_holders = 0 WHERE name = 'bad-shared'")

            for name in names.dropFirst() {
                let error = await #expect(throws: LockheedError.self) { try await locker.acquire(request("b", name)) }
                let which = error?.lock
                guard error?.code == .malformedState else {
                    Issue.record("expected .malformedState for \(name), got \(String(describing: error))")
                    continue
                }
                #expect(which == name)
                await #expect(throws: LockheedError.self) { try await locker.state(of: name) }
            }
            // The bad rows were not rewritten by the failed calls.
            #expect(try raw.string("SELECT kind FROM locks WHERE name = 'bad-kind'") == "semaphore")
            #expect(try await locker.list().map(\.name) == [names[0]])
            #expect(try await locker.release(names[0], holder: "a"))
            await fixture.tearDown()
        }

        @Test func fullSynchronousModeWorks() async throws {
            var configuration = SQLiteConfiguration()
            configuration.synchronous = .full
            let locker = try SQLiteLocker(path: fixture.path, configuration: configuration)
            _ = try await locker.acquire(request("a"))
            #expect(try await locker.state(of: job)?.leases.map(\.holder) == ["a"])
            #expect(try await locker.release(job, holder: "a"))
            await locker.shutdown()
            await fixture.tearDown()
        }

        @Test func callsAfterShutdownAreUnavailable() async throws {
            let locker = try SQLiteLocker(path: fixture.path)
            await locker.shutdown()
            await locker.shutdown()
            let error = await #expect(throws: LockheedError.self) { try await locker.acquire(request("a")) }
            guard error?.code == .unavailable else {
                Issue.record("expected .unavailable, got \(String(describing: error))")
                return
            }
            await fixture.tearDown()
        }

        @Test func releaseInThisProcessWakesAWaiterOnAnotherConnection() async throws {
            let holder = try await fixture.makeLocker()
            let waiter = try await fixture.makeLocker()
            _ = try await holder.acquire(request("a"))
            let started = ContinuousClock.now
            async let waited: Void = waiter.waitForChange(of: job, timeout: .seconds(10))
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await holder.release(job, holder: "a"))
            try await waited
            #expect(ContinuousClock.now - started < .seconds(5))
            await fixture.tearDown()
        }
    }
}
