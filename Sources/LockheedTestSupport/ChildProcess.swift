import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn` (with a clean signal mask, unlike Foundation's
/// `Process` on Linux), for tests that need servers or contender processes.
public struct ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t

    /// Starts `executable` (a path, or a name looked up on `PATH`) with `arguments`; stdin is
    /// `/dev/null`, stdout and stderr go to `outputPath` (appended) or are inherited.
    /// `environment` replaces the environment when given.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String]? = nil, outputPath: String? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let outputPath {
            posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in env { free(pointer) } }

        var pid = pid_t()
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, env)
        guard result == 0 else {
            throw ChildProcessError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid)
    }

    /// Sends `signal` (e.g. `SIGTERM`, `SIGKILL`) to the child.
    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for the child to exit without blocking a thread; returns its exit status, or
    /// 128 + the signal number when a signal ended it.
    public func waitForExit() async -> Int32 {
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result < 0 { return -1 }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The path of an executable built beside the running test binary (e.g. a test helper
    /// executable target, or `lockheed`), or `nil`.
    public static func builtProduct(named name: String) -> String? {
        var candidates: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        candidates.append(Bundle.main.bundleURL)
        for directory in candidates {
            var current = directory
            for _ in 0..<3 {
                let path = current.appendingPathComponent(name).path
                if FileManager.default.isExecutableFile(atPath: path) { return path }
                current = current.deletingLastPathComponent()
            }
        }
        return nil
    }
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    init(_ description: String) { self.description = description }
}
