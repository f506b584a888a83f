import Foundation
import Lockheed
import LockheedConformance
import LockheedPostgres
import LockheedPostgresTesting
import Testing

/// `lockheed exec` and `list` against a real PostgreSQL cluster.
@Suite("Postgres end to end (CLI)", .serialized, .timeSensitive) struct PostgresEndToEndTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    @Test func execAndListAgainstPostgres() async throws {
        let server = try await PostgresTestServer.start()
        do { try await flow(on: server) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func urlSelectsPostgresAndMasksThePassword() throws {
        let configuration = try BackendConfiguration(
            url: "postgres://app:pw-secret@db.internal:5433/app?schema=jobs", environment: [:])
        guard case .postgres(let parts) = configuration else {
            Issue.record("expected .postgres, got \(configuration)")
            return
        }
        #expect(parts.port == 5433 && parts.schema == "jobs" && parts.password == "pw-secret")
        #expect(configuration.scheme == "postgres" && !"\(configuration)".contains("pw-secret"))
        #expect(throws: LockheedError.self) { try BackendConfiguration(url: "postgres://app@h/d?bogus=1") }
    }

    private func flow(on server: PostgresTestServer) async throws {
        let backend = ["--backend", "postgres://postgres@127.0.0.1:\(server.port)/postgres?schema=cli_e2e"]
        try await ExecHandOff(backend: backend, directory: directory, holder: "pg-one").run()

        let wrong = try await CLIProcess.run(
            [
                "list", "--backend",
                "postgres://\(PostgresTestServer.passwordRole):hunter2@127.0.0.1:\(server.port)/postgres",
            ],
            in: directory.url)
        #expect(wrong.status != 0)
        #expect(!wrong.stderr.contains("hunter2"), "\(wrong.stderr)")
    }
}
