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
        let log = directory.path("log")
        let first = try CLIProcess.start(
            ["exec", "--tag", "nightly", "--holder", "pg-one"] + backend
                + ["job", "--", "sh", "-c", "echo first-start >> \(log); sleep 2; echo first-end >> \(log)"],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { contents("log").contains("first-start") })

        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["job", "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("pg-one"))

        let listed = try await CLIProcess.run(["list", "--format", "json"] + backend, in: directory.url)
        #expect(listed.status == 0, "\(listed.stderr)")
        let locks = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(locks.map { $0["name"] as? String } == ["job"])

        let second = try CLIProcess.start(
            ["exec"] + backend + ["job", "--", "sh", "-c", "echo second >> \(log)"], in: directory.url)
        #expect(await first.finish().status == 0)
        let secondResult = await second.finish()
        #expect(secondResult.status == 0, "\(secondResult.stderr)")
        #expect(contents("log") == "first-start\nfirst-end\nsecond\n")

        let wrong = try await CLIProcess.run(
            [
                "list", "--backend",
                "postgres://\(PostgresTestServer.passwordRole):hunter2@127.0.0.1:\(server.port)/postgres",
            ],
            in: directory.url)
        #expect(wrong.status != 0)
        #expect(!wrong.stderr.contains("hunter2"), "\(wrong.stderr)")
    }

    private func contents(_ name: String) -> String {
        (try? String(contentsOfFile: directory.path(name), encoding: .utf8)) ?? ""
    }
}
