import Foundation
import LockheedConformance
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// End-to-end runs of the built `lockheed` binary on one SQLite file.
@Suite(.serialized, .timeSensitive) struct ExecEndToEndTests {
    private let directory: TemporaryDirectory
    private let backend: [String]

    init() throws {
        directory = try TemporaryDirectory()
        backend = ["--backend", "sqlite://" + directory.path("locks.db")]
    }

    private func lockheed(_ arguments: [String]) async throws -> CLIProcess.Finished {
        try await CLIProcess.run(arguments, in: directory.url)
    }

    private func start(_ arguments: [String]) throws -> CLIProcess {
        try CLIProcess.start(arguments, in: directory.url)
    }

    private func fileExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: directory.path(name)) }

    private func contents(_ name: String) -> String {
        (try? String(contentsOfFile: directory.path(name), encoding: .utf8)) ?? ""
    }

    @Test func demoOnTheDefaultBackendSaysHeldAndReleased() async throws {
        let run = try await lockheed(["exec", "demo", "--", "sh", "-c", "echo holding; sleep 0.2"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "holding\n")
        #expect(run.stderr.contains("lockheed: holding \"demo\""))
        #expect(run.stderr.contains("lockheed: released \"demo\""))
        #expect(fileExists("state/lockheed/locks.db"))
    }

    @Test func secondExecWaitsThenRunsAfterTheFirst() async throws {
        let log = directory.path("log")
        let first = try start(
            ["exec"] + backend + [
                "shared-job", "--", "sh", "-c", "echo first-start >> \(log); sleep 2; echo first-end >> \(log)",
            ])
        #expect(await eventually(within: .seconds(20)) { contents("log").contains("first-start") })
        let second = try start(["exec"] + backend + ["shared-job", "--", "sh", "-c", "echo second >> \(log)"])
        #expect(await eventually(within: .seconds(20)) { second.stderr.contains("is held by") })
        let firstResult = await first.finish()
        let secondResult = await second.finish()
        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        #expect(secondResult.status == 0, "\(secondResult.stderr)")
        #expect(contents("log") == "first-start\nfirst-end\nsecond\n")
        #expect(secondResult.stderr.contains("waiting"))
        #expect(secondResult.stderr.contains("after waiting"))
    }

    @Test func noWaitAndDeadlineExitSeventyFiveAndSignalsAreForwarded() async throws {
        let holder = try start(
            ["exec"] + backend + ["busy", "--", "sh", "-c", "touch \(directory.path("started")); exec sleep 60"])
        #expect(await eventually(within: .seconds(20)) { fileExists("started") })
        let refused = try await lockheed(["exec", "--no-wait"] + backend + ["busy", "--", "true"])
        #expect(refused.status == 75)
        #expect(refused.stderr.contains("\"busy\" is busy: held by"))
        #expect(!refused.stderr.contains("waiting"))
        let timedOut = try await lockheed(["exec", "--wait", "300ms"] + backend + ["busy", "--", "true"])
        #expect(timedOut.status == 75)
        #expect(timedOut.stderr.contains("after waiting 300ms"))

        kill(holder.pid, SIGTERM)  // forwarded to `sleep`, which dies of it: 128 + 15
        let holderResult = await holder.finish()
        #expect(holderResult.status == 143, "\(holderResult.stderr)")
        let free = try await lockheed(["exec", "--no-wait"] + backend + ["busy", "--", "true"])
        #expect(free.status == 0, "\(free.stderr)")
    }

    @Test func signalWhileWaitingStopsTheWaitWithoutRunningTheCommand() async throws {
        let holder = try start(
            ["exec"] + backend + ["queue", "--", "sh", "-c", "touch \(directory.path("started")); exec sleep 60"])
        #expect(await eventually(within: .seconds(20)) { fileExists("started") })
        let waiter = try start(
            ["exec", "--verbose"] + backend + ["queue", "--", "touch", directory.path("must-not-run")])
        #expect(await eventually(within: .seconds(20)) { waiter.stderr.contains("is held by") })
        #expect(waiter.stderr.contains("acquire refused"))  // --verbose logs each attempt
        kill(waiter.pid, SIGINT)
        let waited = await waiter.finish()
        #expect(waited.status == 130, "\(waited.stderr)")
        #expect(!fileExists("must-not-run"))
        kill(holder.pid, SIGINT)
        #expect(await holder.finish().status == 130)
    }

    @Test func lostLeaseKillsTheCommand() async throws {
        let runner = try start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms", "--holder", "runner-1"] + backend
                + ["fragile", "--", "sh", "-c", "echo $$ > \(directory.path("pid")); exec sleep 60"])
        #expect(await eventually(within: .seconds(20)) { !contents("pid").isEmpty })
        let childPID = try #require(pid_t(contents("pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let broken = try await lockheed(["break"] + backend + ["fragile", "--yes"])
        #expect(broken.status == 0, "\(broken.stderr)")
        #expect(broken.stderr.contains("runner-1"))
        let result = await runner.finish()
        #expect(result.status == 76, "\(result.stderr)")
        #expect(result.stderr.contains("lost"))
        #expect(!processExists(childPID))
    }

    @Test func commandIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let runner = try start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms", "--kill-grace", "500ms", "--holder", "stubborn"]
                + backend
                + [
                    "stubborn", "--", "sh", "-c",
                    "trap '' TERM; echo $$ > \(directory.path("pid")); while true; do sleep 0.1; done",
                ])
        #expect(await eventually(within: .seconds(20)) { !contents("pid").isEmpty })
        let childPID = try #require(pid_t(contents("pid").trimmingCharacters(in: .whitespacesAndNewlines)))
        let released = try await lockheed(["release"] + backend + ["stubborn", "--holder", "stubborn"])
        #expect(released.status == 0, "\(released.stderr)")
        let result = await runner.finish()
        #expect(result.status == 76, "\(result.stderr)")
        #expect(!processExists(childPID))
        let again = try await lockheed(["release"] + backend + ["stubborn", "--holder", "stubborn"])
        #expect(again.status == 1)
    }

    @Test func listShowAndConditions() async throws {
        let holder = try start(
            ["exec", "--tag", "nightly", "--holder", "build-7", "--renew-interval", "300ms"] + backend
                + ["report", "--", "sh", "-c", "touch \(directory.path("started")); sleep 60"])
        #expect(await eventually(within: .seconds(20)) { fileExists("started") })

        let json = try await lockheed(["list", "--format", "json"] + backend)
        #expect(json.status == 0, "\(json.stderr)")
        let locks = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        let report = try #require(locks.first { $0["name"] as? String == "report" })
        #expect(report["acquired"] as? Bool == true)
        #expect(report["tags"] as? [String] == ["nightly"])
        #expect(report["type"] as? String == "mutex")
        let leases = try #require(report["leases"] as? [[String: Any]])
        #expect(leases.first?["holder"] as? String == "build-7")
        #expect((leases.first?["fencingToken"] as? Int ?? 0) >= 1)
        #expect(leases.first?["expiresAt"] is String)

        let matching = try await lockheed(
            ["list", "--where", "acquired and tags contains nightly", "--format", "json"] + backend)
        #expect(matching.stdout.contains("\"report\""))
        let notMatching = try await lockheed(
            ["list", "--where", "not acquired or holder == \"build-8\"", "--format", "json"] + backend)
        #expect(notMatching.status == 0)
        #expect(
            notMatching.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]"
                || notMatching.stdout.contains("[]"))

        let table = try await lockheed(["list"] + backend)
        #expect(table.stdout.hasPrefix("NAME"))
        #expect(table.stdout.contains("build-7"))
        let show = try await lockheed(["show"] + backend + ["report"])
        #expect(show.stdout.contains("lease:           build-7"))
        let missing = try await lockheed(["show"] + backend + ["never-used"])
        #expect(missing.status == 1)

        let notBroken = try await lockheed(["break"] + backend + ["report", "--if", "tags contains daily", "--yes"])
        #expect(notBroken.status == 1)
        #expect(notBroken.stderr.contains("does not match"))
        let takeover = try await lockheed(
            ["exec", "--no-wait", "--force-if", "holder == \"build-7\""] + backend + ["report", "--", "true"])
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(await holder.finish().status == 76)
    }

    @Test func breakAsksForConfirmationOnATerminal() async throws {
        let script = try #require(
            ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let lockheed = try #require(CLIProcess.binary)
        let holder = try start(
            ["exec", "--holder", "held-by-me", "--renew-interval", "300ms"] + backend
                + ["guarded", "--", "sh", "-c", "touch \(directory.path("started")); exec sleep 60"])
        #expect(await eventually(within: .seconds(20)) { fileExists("started") })
        let breakCommand = ([lockheed, "break"] + backend + ["guarded"]).joined(separator: " ")
        for (answer, expected) in [("n", Int32(1)), ("y", Int32(0))] {
            let input = directory.path("answer-\(answer)")
            try "\(answer)\n".write(toFile: input, atomically: true, encoding: .utf8)
            // `script` runs the command on a pseudo-terminal fed from our stdin.
            let run = try CLIProcess.start(
                ["-qec", breakCommand, "/dev/null"], in: directory.url, stdinPath: input, executable: script)
            let result = await run.finish()
            #expect(result.status == expected, "\(result.stdout) \(result.stderr)")
            #expect(result.stdout.contains("held-by-me"))
            #expect(result.stdout.contains("[y/N]"))
        }
        #expect(await holder.finish().status == 76)
    }

    @Test func malformedConditionPointsAtTheColumn() async throws {
        let run = try await lockheed(["list", "--backend", "memory:", "--where", "acquired and tags =="])
        #expect(run.status == 64)
        #expect(run.stderr.contains("column 21: expected a value after '=='"))
        #expect(run.stderr.contains("  acquired and tags ==\n" + String(repeating: " ", count: 22) + "^\n"))
    }

    @Test func usageAndConfigurationErrors() async throws {
        let scheme = try await lockheed(["list", "--backend", "etcd://localhost"])
        #expect(scheme.status == 64)
        #expect(scheme.stderr.contains("unknown backend scheme"))
        #expect(scheme.stderr.contains("sqlite:///var/tmp/locks.db"))
        let secret = try await lockheed(["list", "--backend", "redis://u:hunter2@localhost:0"])
        #expect(secret.status == 64)
        #expect(!secret.stderr.contains("hunter2"))
        let name = try await lockheed(["exec"] + backend + ["Bad_Name", "--", "true"])
        #expect(name.status == 64)
        #expect(name.stderr.contains("invalid lock name"))
        let noCommand = try await lockheed(["exec"] + backend + ["demo"])
        #expect(noCommand.status == 64)
        let notFound = try await lockheed(["exec"] + backend + ["demo", "--", "/nonexistent/command"])
        #expect(notFound.status == 127)
        let waitWithoutValue = try await lockheed(["exec", "--wait"] + backend + ["demo", "--", "true"])
        #expect(waitWithoutValue.status == 0, "\(waitWithoutValue.stderr)")
        let badWait = try await lockheed(["exec", "--wait", "soon"] + backend + ["demo", "--", "true"])
        #expect(badWait.status == 64)  // "soon" is not a duration, so it is taken as the lock name
        let badDuration = try await lockheed(["exec", "--duration", "5ms"] + backend + ["demo", "--", "true"])
        #expect(badDuration.status == 64)
        #expect(badDuration.stderr.contains("lease duration must be at least"))
        let childStatus = try await lockheed(["exec", "-q"] + backend + ["demo", "--", "sh", "-c", "exit 3"])
        #expect(childStatus.status == 3)
        #expect(childStatus.stderr.isEmpty)
        let help = try await lockheed(["exec", "--help"])
        #expect(help.stdout.contains("EXIT STATUS"))
        #expect(help.stdout.contains("76"))
    }

    @Test func backendFromEnvironmentAndConfigFile() async throws {
        let config = directory.path("lockheed.conf")
        try "backend = \"sqlite://\(directory.path("from-file.db"))\"\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let viaFile = try await CLIProcess.run(
            ["exec", "--config", config, "cfg", "--", "true"], in: directory.url)
        #expect(viaFile.status == 0, "\(viaFile.stderr)")
        #expect(fileExists("from-file.db"))
        let viaEnvironment = try await CLIProcess.run(
            ["exec", "env", "--", "true"], in: directory.url,
            environment: ["LOCKHEED_BACKEND": "sqlite://\(directory.path("from-env.db"))", "LOCKHEED_CONFIG": config])
        #expect(viaEnvironment.status == 0, "\(viaEnvironment.stderr)")
        #expect(fileExists("from-env.db"))
    }
}
