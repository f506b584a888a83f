import Foundation
import LockheedConformance
import LockheedCore
import PostgresNIO
import Testing

@testable import LockheedPostgres

/// A client frozen in the middle of its transaction (a paused process, a dead network path)
/// keeps the lock row locked on the server. Nobody may wait on it for longer than the
/// configured transaction timeout, or a lock with a 30 s lease stalls every contender for as
/// long as TCP takes to notice (hours).
@Suite("Postgres stuck transactions", .timeSensitive)
struct PostgresStuckTransactionTests {
    @Test("a session frozen inside its transaction is ended by the server; contenders are not stalled")
    func frozenTransactionIsEnded() async throws {
        var configuration = try await PostgresFixture().configuration
        configuration.transactionTimeout = .seconds(2)
        let fixture = try await PostgresFixture(configuration: configuration)
        let frozen = try fixture.makePostgresLocker()
        let other = try fixture.makePostgresLocker()
        let name = try LockName("stuck")
        let request = try AcquireRequest(name: name, holder: "a", duration: .seconds(30))
        _ = try await frozen.acquire(request)
        #expect(try await frozen.release(name, holder: "a"))

        // A session of the library's own (same startup settings) that takes the row lock as an
        // operation does, then never says another word.
        let session = try await frozen.store.pool.connect()
        let pid = try await session.query("SELECT pg_backend_pid()::int8", logger: testLogger).collect().first?
            .decode(Int64.self)
        try await session.query("BEGIN", logger: testLogger)
        let locked = try await session.query(
            PostgresQuery(
                unsafeSQL: "SELECT name FROM \"\(configuration.schema)\".locks WHERE name = 'stuck' FOR UPDATE"),
            logger: testLogger)
        // Read to the end: an unread result would stop the connection from reading the server's
        // goodbye below.
        #expect(try await locked.collect().count == 1)

        // Without a server-side timeout the contender would wait for as long as TCP takes to
        // notice; the watchdog closes the frozen session after 40 s so the test fails, not hangs.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(40))
            try? await session.close()
        }
        let started = ContinuousClock.now
        let contender = try Lock(name, locker: other, holder: "b").duration(.seconds(30))
            .retry(.wait(upTo: .seconds(60))).keepAlive(false)
        _ = try await contender.acquire()
        let waited = ContinuousClock.now - started
        watchdog.cancel()
        // The 2 s idle-in-transaction timeout, then a retry: far below the 30 s lease and the
        // 40 s watchdog.
        #expect(waited < .seconds(20), "the contender was stalled \(waited) by the frozen transaction")
        // The server ended the frozen session.
        let observer = try await other.store.pool.connect()
        let stuck = try await observer.query(
            "SELECT count(*)::int8 FROM pg_stat_activity WHERE pid = \(pid ?? -1)", logger: testLogger
        ).collect().first?.decode(Int64.self)
        #expect(stuck == 0)
        try? await observer.close()
        try? await session.close()
        try? await contender.release()
        await fixture.tearDown()
    }

    @Test("a transaction timeout that cannot work is a typed error")
    func invalidTransactionTimeout() throws {
        var configuration = PostgresConfiguration(host: "127.0.0.1", port: 5432, username: "u")
        configuration.transactionTimeout = .zero
        #expect(throws: LockheedError.self) { try PostgresLocker(configuration: configuration) }
    }
}
