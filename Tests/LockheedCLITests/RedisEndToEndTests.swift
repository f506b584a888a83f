import Foundation
import LockheedConformance
import LockheedRedis
import LockheedRedisTesting
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The end-to-end flow of ``ExecEndToEndTests`` against a real `redis-server`.
@Suite(.serialized, .timeSensitive) struct RedisEndToEndTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    private func contents(_ name: String) -> String {
        (try? String(contentsOfFile: directory.path(name), encoding: .utf8)) ?? ""
    }

    @Test func execListBreakAgainstRedis() async throws {
        let server = try await RedisTestServer.start()
        do { try await flow(on: server) } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    private func flow(on server: RedisTestServer) async throws {
        let backend = ["--backend", "redis://127.0.0.1:\(server.port)/0?prefix=cli-e2e&timeout=2s"]
        try await ExecHandOff(
            backend: backend, directory: directory, holder: "redis-one", holderOptions: ["--renew-interval", "300ms"]
        ).run()

        let runner = try CLIProcess.start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms"] + backend
                + ["fragile", "--", "sh", "-c", "echo $$ > \(directory.path("pid")); exec sleep 60"],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { !contents("pid").isEmpty })
        let childPID = try #require(pid_t(contents("pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let broken = try await CLIProcess.run(["break"] + backend + ["fragile", "--yes"], in: directory.url)
        #expect(broken.status == 0, "\(broken.stderr)")
        #expect(await runner.finish().status == 76)
        #expect(!processExists(childPID))
    }

    @Test func unreachableRedisExitsSixtyNine() async throws {
        let port = freeLoopbackPort()
        let run = try await CLIProcess.run(
            ["list", "--backend", "redis://user:hunter2@127.0.0.1:\(port)/0?connect_timeout=300ms"], in: directory.url)
        #expect(run.status == 69, "\(run.stderr)")
        #expect(!run.stderr.contains("hunter2"))
    }
}
