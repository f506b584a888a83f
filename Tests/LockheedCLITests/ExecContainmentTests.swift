import Foundation
import LockheedConformance
import LockheedRedis
import LockheedRedisTesting
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `lockheed exec` keeps the command inside the lease: its whole process group is stopped on
/// loss and when lockheed dies, it inherits no descriptor, a terminal's Ctrl-C reaches it once,
/// it learns its fencing token, and a command that ended in time keeps its status.
@Suite(.serialized, .timeSensitive) struct ExecContainmentTests {
    private let directory: TemporaryDirectory
    private let backend: [String]

    init() throws {
        directory = try TemporaryDirectory()
        backend = ["--backend", "sqlite://" + directory.path("locks.db")]
    }

    private func start(_ arguments: [String]) throws -> CLIProcess {
        try CLIProcess.start(arguments, in: directory.url)
    }

    private func contents(_ name: String) -> String {
        (try? String(contentsOfFile: directory.path(name), encoding: .utf8)) ?? ""
    }

    private func fileExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: directory.path(name)) }

    /// The process id a command wrote to file `name`, once it is there.
    private func pid(in name: String) async throws -> pid_t {
        #expect(await eventually(within: .seconds(20)) { contents(name).hasSuffix("\n") })
        return try #require(pid_t(contents(name).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func grandchildIsKilledWhenTheLeaseIsLost() async throws {
        let runner = try start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms", "--kill-grace", "1s", "--holder", "parent"]
                + backend + ["tree", "--", "sh", "-c", "sleep 777 & echo $! > \(directory.path("grandchild")); wait"])
        let grandchild = try await pid(in: "grandchild")
        defer { killIfAlive(grandchild) }
        let broken = try await CLIProcess.run(["break"] + backend + ["tree", "--yes"], in: directory.url)
        #expect(broken.status == 0, "\(broken.stderr)")
        let result = await runner.finish()
        #expect(result.status == 76, "\(result.stderr)")
        #expect(await eventually(within: .seconds(5)) { !processExists(grandchild) })
    }

    @Test func whatTheCommandLeavesRunningIsStoppedBeforeTheRelease() async throws {
        let run = try await CLIProcess.run(
            ["exec"] + backend + [
                "leftover", "--", "sh", "-c", "sleep 777 & echo $! > \(directory.path("grandchild"))",
            ],
            in: directory.url)
        let grandchild = try await pid(in: "grandchild")
        defer { killIfAlive(grandchild) }
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("stopped 1 process the command left running"), "\(run.stderr)")
        #expect(await eventually(within: .seconds(5)) { !processExists(grandchild) })
    }

    @Test func commandAndGrandchildDieWhenLockheedIsKilled() async throws {
        let runner = try start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms"] + backend + [
                "orphan", "--", "sh", "-c",
                "sleep 777 & echo $! > \(directory.path("grandchild")); echo $$ > \(directory.path("child")); wait",
            ])
        let child = try await pid(in: "child")
        let grandchild = try await pid(in: "grandchild")
        defer {
            killIfAlive(child)
            killIfAlive(grandchild)
        }
        kill(runner.pid, SIGKILL)
        #expect(await runner.finish().status == 128 + SIGKILL)
        #expect(await eventually(within: .seconds(5)) { !processExists(child) })
        #expect(await eventually(within: .seconds(5)) { !processExists(grandchild) })
    }

    @Test func killGraceEndsWithTheLeasesValidity() async throws {
        let runner = try start(
            ["exec", "--duration", "2s", "--renew-interval", "200ms", "--kill-grace", "30s"] + backend + [
                "capped", "--", "sh", "-c",
                "trap '' TERM; echo $$ > \(directory.path("child")); while true; do sleep 0.1; done",
            ])
        let child = try await pid(in: "child")
        defer { killIfAlive(child) }
        let broken = try await CLIProcess.run(["break"] + backend + ["capped", "--yes"], in: directory.url)
        #expect(broken.status == 0, "\(broken.stderr)")
        let started = ContinuousClock.now
        let result = await runner.finish(timeout: .seconds(60))
        #expect(result.status == 76, "\(result.stderr)")
        #expect(ContinuousClock.now - started < .seconds(15), "SIGKILL came with the 2 s lease, not the 30 s grace")
        #expect(await eventually(within: .seconds(5)) { !processExists(child) })
    }

    @Test func commandSeesItsTokenLockAndHolder() async throws {
        let script = "echo \"$LOCKHEED_LOCK $LOCKHEED_HOLDER $LOCKHEED_FENCING_TOKEN\" > \(directory.path("env"))"
        var tokens: [UInt64] = []
        for _ in 0..<2 {
            let run = try await CLIProcess.run(
                ["exec", "--holder", "env-holder"] + backend + ["env-lock", "--", "sh", "-c", script],
                in: directory.url)
            #expect(run.status == 0, "\(run.stderr)")
            let fields = contents("env").split(separator: " ")
            #expect(fields.prefix(2) == ["env-lock", "env-holder"], "\(contents("env"))")
            let token = try #require(fields.last.flatMap { UInt64($0.dropLast()) }, "\(contents("env"))")
            // The token is the one lockheed announces for this grant.
            #expect(run.stderr.contains("token \(token)"), "\(run.stderr)")
            tokens.append(token)
        }
        #expect(tokens[0] < tokens[1], "the second grant's token must be higher: \(tokens)")
    }

    /// The descriptors open in a command run under `backendArguments`: `ls -l /proc/self/fd`,
    /// less the one `ls` opens to read that directory.
    private func descriptorsOfCommand(_ backendArguments: [String]) async throws -> [String] {
        let run = try await CLIProcess.run(
            ["exec", "-q"] + backendArguments + ["fds", "--", "ls", "-l", "/proc/self/fd"], in: directory.url)
        #expect(run.status == 0, "\(run.stderr)")
        return run.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let arrow = line.range(of: " -> ") else { return nil }
            let target = line[arrow.upperBound...]
            if target.hasPrefix("/proc/") && target.hasSuffix("/fd") { return nil }
            return line[..<arrow.lowerBound].split(separator: " ").last.map { "\($0) -> \(target)" }
        }
    }

    @Test func commandInheritsNoDescriptorOnSQLite() async throws {
        let descriptors = try await descriptorsOfCommand(backend)
        #expect(descriptors.map { $0.prefix { $0 != " " } } == ["0", "1", "2"], "\(descriptors)")
    }

    @Test func commandInheritsNoDescriptorOnRedis() async throws {
        let server = try await RedisTestServer.start()
        let descriptors: [String]
        do {
            descriptors = try await descriptorsOfCommand(
                ["--backend", "redis://127.0.0.1:\(server.port)/0?prefix=fds"])
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
        #expect(descriptors.map { $0.prefix { $0 != " " } } == ["0", "1", "2"], "\(descriptors)")
    }

    @Test func commandThatEndedBeforeLossWasNoticedKeepsItsStatus() async throws {
        // Lockheed is frozen while its command exits, and resumed after the lease expired: the
        // command ended in time, so its status stands. Several runs, as the end and the loss race.
        let names = ["late-1", "late-2", "late-3", "late-4"]
        var runners: [CLIProcess] = []
        var finished = false
        defer { if !finished { for runner in runners { kill(runner.pid, SIGKILL) } } }  // the guards kill the rest
        for name in names {
            let job =
                "echo $$ > \(directory.path(name)); while [ ! -e \(directory.path("go")) ]; do sleep 0.05; done; exit 7"
            runners.append(
                try start(
                    ["exec", "--duration", "2s", "--renew-interval", "400ms"] + backend + [name, "--", "sh", "-c", job])
            )
        }
        var commands: [pid_t] = []
        for (name, runner) in zip(names, runners) {
            let started = await eventually(within: .seconds(20)) { contents(name).hasSuffix("\n") }
            #expect(started, "\(runner.stderr)")
            commands.append(try #require(pid_t(contents(name).trimmingCharacters(in: .whitespacesAndNewlines))))
        }
        for runner in runners { kill(runner.pid, SIGSTOP) }
        _ = FileManager.default.createFile(atPath: directory.path("go"), contents: nil)
        for command in commands {
            #expect(await eventually(within: .seconds(10)) { !processExists(command) })
        }
        try await Task.sleep(for: .milliseconds(2500))  // past the 2 s lease
        for runner in runners { kill(runner.pid, SIGCONT) }
        finished = true
        for runner in runners {
            let result = await runner.finish()
            #expect(result.status == 7, "\(result.stderr)")
            #expect(!result.stderr.contains("it was stopped"), "\(result.stderr)")
            #expect(result.stderr.contains("observed its end only after the lease"), "\(result.stderr)")
        }
    }

    /// `script(1)` running `command` on a pseudo-terminal, with a FIFO whose bytes it types
    /// into that terminal: the returned descriptor is the keyboard (close it when done).
    private func onTerminal(_ command: String) throws -> (terminal: CLIProcess, keyboard: Int32) {
        let script = try #require(
            ["/usr/bin/script", "/bin/script"].first { FileManager.default.isExecutableFile(atPath: $0) })
        let keys = directory.path("keys")
        #expect(mkfifo(keys, 0o600) == 0)
        let keyboard = open(keys, O_RDWR | O_CLOEXEC)
        #expect(keyboard >= 0)
        let terminal = try CLIProcess.start(
            ["-qec", command, "/dev/null"], in: directory.url, environment: ["SHELL": "/bin/sh"], stdinPath: keys,
            executable: script)
        return (terminal, keyboard)
    }

    @Test func ctrlCOnATerminalReachesTheCommandOnce() async throws {
        let lockheed = try #require(CLIProcess.binary)
        let count = directory.path("count")
        let stop = directory.path("stop")
        let job =
            "trap 'echo int >> \(count)' INT; touch \(directory.path("ready")); "
            + "while [ ! -e \(stop) ]; do sleep 0.5 & wait $!; done; exit 0"
        let command = ([lockheed, "exec", "-q"] + backend + ["tty", "--", "sh", "-c", job]).map(shellQuoted)
            .joined(separator: " ")
        let (terminal, keyboard) = try onTerminal(command)
        defer { close(keyboard) }
        #expect(await eventually(within: .seconds(20)) { fileExists("ready") })
        #expect(write(keyboard, "\u{03}", 1) == 1)
        #expect(await eventually(within: .seconds(20)) { fileExists("count") })
        try await Task.sleep(for: .seconds(1))  // time for a second delivery, if any
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        let result = await terminal.finish()
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(contents("count") == "int\n")
    }

    @Test func ctrlZStopsTheCommandAndLockheedAndFgContinuesBoth() async throws {
        let lockheed = try #require(CLIProcess.binary)
        // An interactive shell with job control on the pseudo-terminal runs lockheed as a job.
        let (terminal, keyboard) = try onTerminal("sh -i")
        defer { close(keyboard) }
        func type(_ text: String) { #expect(write(keyboard, text, text.utf8.count) == text.utf8.count) }
        let beat = directory.path("beat")
        let job =
            "echo $PPID > \(directory.path("guard")); i=0; "
            + "while [ ! -e \(directory.path("stop")) ]; do i=$((i+1)); echo $i > \(beat); sleep 0.1; done; exit 0"
        type(
            ([lockheed, "exec", "-q"] + backend + ["job", "--", "sh", "-c", job]).map(shellQuoted).joined(
                separator: " ") + "\n")
        let guardPID = try await pid(in: "guard")
        let stat = { (pid: pid_t) -> [Substring] in
            let text = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return text.lastIndex(of: ")").map { text[text.index(after: $0)...].split(separator: " ") } ?? []
        }
        let lockheedPID = try #require(stat(guardPID).dropFirst().first.flatMap { pid_t($0) })
        #expect(await eventually(within: .seconds(20)) { !contents("beat").isEmpty })

        type("\u{1A}")  // Ctrl-Z
        #expect(
            await eventually(within: .seconds(20)) { stat(lockheedPID).first == "T" && stat(guardPID).first == "T" })
        let stopped = contents("beat")
        try await Task.sleep(for: .milliseconds(500))
        #expect(contents("beat") == stopped, "the command kept running while stopped")

        type("fg\n")
        #expect(
            await eventually(within: .seconds(20)) { stat(lockheedPID).first != "T" && contents("beat") != stopped })
        _ = FileManager.default.createFile(atPath: directory.path("stop"), contents: nil)
        #expect(await eventually(within: .seconds(20)) { !processExists(lockheedPID) })
        type("exit\n")
        let result = await terminal.finish(timeout: .seconds(20))
        #expect(result.status == 0, "\(result.stdout)")
    }
}

/// Kills `pid` if it still runs (a process id checked first is less likely to be reused).
private func killIfAlive(_ pid: pid_t) {
    if processExists(pid) { kill(pid, SIGKILL) }
}

/// `text` quoted for `sh`.
private func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
