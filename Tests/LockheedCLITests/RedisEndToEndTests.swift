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
        let log = directory.path("log")

        let first = try CLIProcess.start(
            ["exec", "--tag", "nightly", "--holder", "redis-one", "--renew-interval", "300ms"] + backend
                + ["job", "--", "sh", "-c", "echo first-start >> \(log); sleep 2; echo first-end >> \(log)"],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { contents("log").contains("first-start") })

        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["job", "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("redis-one"))

        let json = try await CLIProcess.run(
            ["list", "--where", "acquired and tags contains nightly", "--format", "json"] + backend, in: directory.url)
        #expect(json.status == 0, "\(json.stderr)")
        let locks = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(locks.map { $0["name"] as? String } == ["job"])

        let second = try CLIProcess.start(
            ["exec"] + backend + ["job", "--", "sh", "-c", "echo second >> \(log)"], in: directory.url)
        #expect(await first.finish().status == 0)
        let secondResult = await second.finish()
        #expect(secondResult.status == 0, "\(secondResult.stderr)")
        #expect(secondResult.stderr.contains("is held by redis-one"))
        #expect(contents("log") == "first-start\nfirst-end\nsecond\n")

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
