import Foundation
import LockheedConformance
import LockheedCore
import LockheedPostgresTesting
import LockheedTestSupport
import PostgresNIO
import Synchronization
import Testing

@testable import LockheedPostgres

/// The one PostgreSQL cluster of this test process, started on first use and shared by every
/// test (its watchdog stops it when the process exits).
actor SharedPostgresServer {
    static let shared = SharedPostgresServer()
    private var starting: Task<PostgresTestServer, any Error>?

    /// The running server, started once even when many tests ask at the same moment.
    func get() async throws -> PostgresTestServer {
        if let starting { return try await starting.value }
        let task = Task { () async throws -> PostgresTestServer in try await PostgresTestServer.start() }
        starting = task
        return try await task.value
    }
}

/// A fresh schema name per test, so tests share the server without seeing each other's locks.
func uniqueSchema(_ label: String = "t") -> String {
    "\(label)_\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
}

/// Runs `sql` as the superuser on `server`.
func superuser(_ server: PostgresTestServer, _ sql: String) async throws {
    try await server.withConnection { connection in
        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: testLogger)
    }
}

let testLogger = Logger(label: "lockheed.postgres.tests")

/// The PostgreSQL backend as a conformance fixture: the shared server, a fresh schema per test,
/// fault hooks as SQL run by the superuser.
final class PostgresFixture: ConformanceFixture {
    let server: PostgresTestServer
    let configuration: PostgresConfiguration
    private let lockers = Mutex<[PostgresLocker]>([])
    private let proxies = Mutex<[FaultProxy]>([])

    init(configuration: PostgresConfiguration? = nil) async throws {
        server = try await SharedPostgresServer.shared.get()
        self.configuration = configuration ?? server.configuration(schema: uniqueSchema())
    }

    var capabilities: ConformanceCapabilities { .all }

    func makeLocker() async throws -> any Locker { try makePostgresLocker() }

    /// Connects the locker's `LISTEN` session, which otherwise starts after its first refusal.
    func prepareToWait(on locker: any Locker) async throws {
        let postgres = try #require(locker as? PostgresLocker)
        postgres.store.listener.start()
        #expect(await eventually { postgres.store.listener.isConnected })
    }

    func makePostgresLocker() throws -> PostgresLocker {
        let locker = try PostgresLocker(configuration: configuration)
        lockers.withLock { $0.append(locker) }
        return locker
    }

    private var schema: String { "\"\(configuration.schema)\"" }

    private func run(_ sql: String, _ name: LockName) async throws {
        try await server.withConnection { connection in
            try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds(name.rawValue)), logger: testLogger)
        }
    }

    /// A client connected through a ``FaultProxy``: freezing it stops its bytes both ways, so a
    /// statement already sent waits for a reply that does not come.
    func makeFreezableClient() async throws -> FreezableClient {
        let proxy = try FaultProxy(forwardingTo: configuration.port)
        var viaProxy = configuration
        viaProxy.port = proxy.port
        let locker = try PostgresLocker(configuration: viaProxy)
        lockers.withLock { $0.append(locker) }
        proxies.withLock { $0.append(proxy) }
        return FreezableClient(locker: locker, freeze: { proxy.freeze() }, thaw: { proxy.resume() })
    }

    func expireLeases(of name: LockName) async throws {
        try await run(
            "UPDATE \(schema).leases SET expires_at = clock_timestamp() - interval '1 millisecond' WHERE lock = $1",
            name)
    }

    /// An operator's `DELETE` of the lock row and its leases; the counter goes with the row.
    func deleteLock(_ name: LockName) async throws {
        try await run(
            "WITH l AS (DELETE FROM \(schema).leases WHERE lock = $1) DELETE FROM \(schema).locks WHERE name = $1", name
        )
    }

    func corruptState(of name: LockName) async throws {
        try await run("UPDATE \(schema).locks SET kind = 'not a kind' WHERE name = $1", name)
    }

    /// The counter lives in the lock row: losing it is losing the row (a `DELETE`, a restore of
    /// an older dump without it).
    func loseFencingCounter(of name: LockName) async throws { try await deleteLock(name) }

    func tearDown() async {
        for proxy in proxies.withLock({ $0 }) { proxy.resume() }
        for locker in lockers.withLock({ $0 }) { await locker.shutdown() }
        for proxy in proxies.withLock({ $0 }) { proxy.stop() }
        try? await superuser(server, "DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}

@Suite("Postgres backend conformance", .timeSensitive)
struct PostgresConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(on: try await PostgresFixture())
    }
}
