import Foundation
import LockheedConformance
import LockheedCore
import LockheedPostgresTesting
import LockheedTestSupport
import Testing

@testable import LockheedPostgres

@Suite("Postgres typed errors and configuration", .timeSensitive)
struct PostgresErrorTests {
    let request: AcquireRequest

    init() throws {
        request = try AcquireRequest(name: LockName("typed"), holder: "a", duration: .seconds(30))
    }

    @Test("a wrong password is .unauthorized and never printed; the right one logs in (SCRAM)")
    func wrongPassword() async throws {
        let server = try await SharedPostgresServer.shared.get()
        let secret = "not-the-password-\(UInt32.random(in: 0...UInt32.max))"
        var configuration = server.configuration(schema: uniqueSchema())
        configuration.username = PostgresTestServer.passwordRole
        configuration.password = secret
        let locker = try PostgresLocker(configuration: configuration)
        let error = try await lockheedError { try await locker.acquire(request) }
        let message = error.message
        guard error.code == .unauthorized else {
            Issue.record("expected .unauthorized, got \(error)")
            return
        }
        #expect(!"\(error)".contains(secret) && !message.contains(secret))
        #expect(!"\(configuration)".contains(secret) && "\(configuration)".contains("****"))
        await locker.shutdown()

        configuration.password = nil
        let none = try PostgresLocker(configuration: configuration)
        guard try await lockheedError({ try await none.acquire(request) }).code == .unauthorized else {
            Issue.record("a missing password must be .unauthorized")
            return
        }
        await none.shutdown()

        configuration.password = PostgresTestServer.password
        let good = try PostgresLocker(configuration: configuration)
        _ = try await good.acquire(request)
        await good.shutdown()
        try await superuser(server, "DROP SCHEMA \"\(configuration.schema)\" CASCADE")
    }

    @Test("nothing listening is .unavailable, at once")
    func unreachable() async throws {
        let configuration = PostgresConfiguration(port: freeLoopbackPort(), schema: uniqueSchema())
        let locker = try PostgresLocker(configuration: configuration)
        let started = ContinuousClock.now
        #expect(try await lockheedError { try await locker.acquire(request) }.code == .unavailable)
        #expect(ContinuousClock.now - started < .seconds(5), "not the pool's minute-long queue")
        await locker.shutdown()
    }

    @Test("a database that does not exist is .invalidConfiguration, not an outage to retry")
    func missingDatabase() async throws {
        let server = try await SharedPostgresServer.shared.get()
        var configuration = server.configuration(schema: uniqueSchema())
        configuration.database = "no_such_database"
        let locker = try PostgresLocker(configuration: configuration)
        let error = try await lockheedError { try await locker.acquire(request) }
        let message = error.message
        guard error.code == .invalidConfiguration else {
            Issue.record("expected .invalidConfiguration, got \(error)")
            return
        }
        #expect(message.contains("no_such_database"))
        await locker.shutdown()
    }

    @Test("a role without CREATE on the database is .forbidden, naming what it lacks")
    func forbidden() async throws {
        let server = try await SharedPostgresServer.shared.get()
        let role = uniqueSchema("limited")
        try await superuser(server, "CREATE ROLE \(role) LOGIN")
        var configuration = server.configuration(schema: uniqueSchema())
        configuration.username = role
        let locker = try PostgresLocker(configuration: configuration)
        let error = try await lockheedError { try await locker.acquire(request) }
        let message = error.message
        guard error.code == .forbidden else {
            Issue.record("expected .forbidden, got \(error)")
            return
        }
        #expect(message.contains("permission denied for database"), "\(message)")
        #expect(message.contains("CREATE"))
        await locker.shutdown()
        try await superuser(server, "DROP ROLE \(role)")
    }

    @Test("a schema of a newer version is .incompatibleStorage and left unchanged")
    func newerSchema() async throws {
        let fixture = try await PostgresFixture()
        let locker = try fixture.makePostgresLocker()
        _ = try await locker.acquire(request)
        try await superuser(
            fixture.server, "INSERT INTO \"\(fixture.configuration.schema)\".migrations (version) VALUES (99)")
        let newer = try fixture.makePostgresLocker()
        let error = try await lockheedError { try await newer.state(of: request.name) }
        let message = error.message
        guard error.code == .incompatibleStorage else {
            Issue.record("expected .incompatibleStorage, got \(error)")
            return
        }
        #expect(message.contains("99"))
        await fixture.tearDown()
    }

    @Test("URLs: every part, the password from the environment, typed refusals, masked description")
    func urls() throws {
        let full = try PostgresConfiguration(
            url: "postgres://app:s%40cret@db.example:6543/locks?schema=jobs&sslmode=require", environment: [:])
        #expect(full.host == "db.example" && full.port == 6543 && full.username == "app")
        #expect(full.password == "s@cret" && full.database == "locks" && full.schema == "jobs")
        #expect(full.sslMode == .require)
        #expect("\(full)" == "postgres://app:****@db.example:6543/locks?schema=jobs&sslmode=require")

        let fromEnvironment = try PostgresConfiguration(
            url: "postgresql://app@localhost/app",
            environment: ["PGPASSWORD": "pg", "LOCKHEED_POSTGRES_PASSWORD": "ours"])
        #expect(
            fromEnvironment.password == "ours" && fromEnvironment.port == 5432 && fromEnvironment.schema == "lockheed")
        #expect(
            try PostgresConfiguration(url: "postgres://app@h/d", environment: ["PGPASSWORD": "pg"]).password == "pg")
        #expect(!"\(fromEnvironment)".contains("ours"))

        for bad in [
            "postgres://app@h/d?sslmode=verify-full", "postgres://app@h/d?schema=Bad-Name", "postgres:///d",
            "redis://h", "postgres://app@h/d?colour=blue", "postgres://app@h:0/d",
        ] {
            #expect(throws: LockheedError.self, "\(bad)") { try PostgresConfiguration(url: bad, environment: [:]) }
        }
    }
}
