import Foundation
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs the built `lockheed` binary with stdout and stderr in separate files and stdin from
/// /dev/null, started with `posix_spawn` and a clean signal mask.
struct CLIProcess: Sendable {
    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String

    /// The result of a finished run.
    struct Finished: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// `lockheed` next to the test binary, or `nil` when it was not built.
    static let binary: String? = {
        var directories: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for directory in directories {
            var current = directory
            for _ in 0..<3 {
                let path = current.appendingPathComponent("lockheed").path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                current = current.deletingLastPathComponent()
            }
        }
        return nil
    }()

    /// Starts `lockheed arguments…` with `environment` added to the test's own.
    static func start(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:], stdinPath: String = "/dev/null",
        executable: String? = nil
    ) throws -> CLIProcess {
        let lockheed = try #require(binary, "the lockheed product was not built beside the tests")
        let binary = executable ?? lockheed
        let id = UUID().uuidString.prefix(8)
        let stdoutPath = directory.appendingPathComponent("out-\(id)").path
        let stderrPath = directory.appendingPathComponent("err-\(id)").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdinPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        addCloseFrom(&actions, 3)  // lockheed starts with only 0-2, whatever the test runner has open
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var merged = ProcessInfo.processInfo.environment
        merged["LOCKHEED_BACKEND"] = nil
        merged["LOCKHEED_CONFIG"] = nil
        merged["XDG_STATE_HOME"] = directory.appendingPathComponent("state").path
        merged.merge(environment) { _, new in new }
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in env { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, binary, &actions, &attributes, argv, env)
        try #require(result == 0, "posix_spawn failed: \(result)")
        return CLIProcess(pid: pid, stdoutPath: stdoutPath, stderrPath: stderrPath)
    }

    /// Runs `lockheed arguments…` to completion (killing it after `timeout`).
    static func run(
        _ arguments: [String], in directory: URL, environment: [String: String] = [:], timeout: Duration = .seconds(60)
    ) async throws -> Finished {
        let process = try start(arguments, in: directory, environment: environment)
        return await process.finish(timeout: timeout)
    }

    /// Waits for exit (SIGKILL after `timeout`) and collects the output.
    func finish(timeout: Duration = .seconds(60)) async -> Finished {
        let deadline = ContinuousClock.now + timeout
        var raw: Int32 = 0
        while true {
            let result = waitpid(pid, &raw, WNOHANG)
            if result == pid || result < 0 { break }
            if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(20))
        }
        let signal = raw & 0x7f
        return Finished(status: signal == 0 ? (raw >> 8) & 0xff : 128 + signal, stdout: stdout, stderr: stderr)
    }

    /// What the process wrote to stdout so far.
    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    /// What the process wrote to stderr so far.
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}

/// A temporary directory removed when the test (its owner) is done.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("lockheed-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `kubeconfig` here for the API-server double at `server` (its test token; the
    /// context's namespace `namespace`) and returns its path.
    func writeKubeconfig(server: String, namespace: String = "default") throws -> String {
        let path = path("kubeconfig")
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: double
              cluster:
                server: \(server)
            contexts:
            - name: double
              context:
                cluster: double
                user: tester
                namespace: \(namespace)
            current-context: double
            users:
            - name: tester
              user:
                token: test-token
            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// Whether process `pid` exists (and is not a zombie of ours).
func processExists(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    return !status.contains(") Z ")
}
