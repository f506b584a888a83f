import CHiredis
import Foundation
import Glibc
import LockheedCore
@_spi(Testing) import LockheedRedis
import LockheedTestSupport

/// Test support: a throwaway `redis-server` on a free loopback port, without persistence, in
/// a temporary directory. Not for production use. A watchdog shell kills the server if the
/// starting process exits without calling ``stop()`` or ``kill()``.
///
/// ```swift
/// let server = try await RedisTestServer.start()
/// let locker = try RedisLocker(configuration: server.configuration(keyPrefix: "t1"))
/// …
/// await server.stop()
/// ```
public struct RedisTestServer: Sendable {
    /// The loopback port the server listens on.
    public let port: Int
    /// The server's working directory (its log is `redis.log` there).
    public let directory: String
    /// The server's process id.
    public let pid: Int32
    /// Extra `redis-server` arguments it was started with (e.g. `--requirepass`).
    public let extraArguments: [String]
    private let process: ChildProcess

    /// Starts `redis-server` (found on `PATH`) on `port` (a free one by default, retried on a
    /// clash) and returns once this very process answers `PING`, or throws
    /// ``LockheedCore/LockheedError/unavailable(_:)``.
    public static func start(port: Int? = nil, extraArguments: [String] = []) async throws(LockheedError)
        -> RedisTestServer
    {
        var attempt = 0
        while true {
            attempt += 1
            do throws(LockheedError) {
                return try await launch(port: port ?? freeLoopbackPort(), extraArguments: extraArguments)
            } catch {
                guard port == nil, attempt < 5, error.code == .unavailable,
                    error.message.contains("Address already in use")
                else { throw error }
            }
        }
    }

    private static func launch(port: Int, extraArguments: [String]) async throws(LockheedError) -> RedisTestServer {
        let template = NSTemporaryDirectory() + "lockheed-redis-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw .backend("cannot create a temporary directory") }
        let directory = String(cString: made)
        let arguments =
            [
                "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", directory,
            ] + extraArguments
        let process: ChildProcess
        do {
            process = try ChildProcess.spawn(
                executable: "redis-server", arguments: arguments, outputPath: directory + "/redis.log")
        } catch { throw .backend("\(error)") }
        // A watchdog kills the server when this process ends without stopping it (a crashed or
        // early-returning test, or a test process that keeps a shared server to the end).
        _ = try? ChildProcess.spawn(
            executable: "/bin/sh",
            arguments: [
                "-c",
                "while kill -0 \(getpid()) 2>/dev/null && kill -0 \(process.pid) 2>/dev/null; do sleep 0.5; done; "
                    + "kill -0 \(getpid()) 2>/dev/null || { kill -9 \(process.pid); sleep 0.2; rm -rf '\(directory)'; }",
            ], outputPath: "/dev/null")
        let server = RedisTestServer(
            port: port, directory: directory, pid: process.pid, extraArguments: extraArguments, process: process)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(process.pid, &status, WNOHANG) == process.pid {
                let log = (try? String(contentsOfFile: directory + "/redis.log", encoding: .utf8)) ?? ""
                throw .unavailable("redis-server exited at start: \(log.suffix(500))")
            }
            if await server.answersPing() { return server }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await server.kill()
        throw .unavailable("redis-server on port \(port) did not answer PING within 10 s")
    }

    /// A configuration for this server with `keyPrefix` (and other settings at their defaults).
    public func configuration(keyPrefix: String = "lockheed") -> RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: port, keyPrefix: keyPrefix)
    }

    /// Stops the server with `SIGTERM`, waits for it to exit and removes its directory.
    public func stop() async {
        process.signal(SIGTERM)
        _ = await process.waitForExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Kills the server with `SIGKILL` (a crash), waits for it to exit and removes its directory.
    public func kill() async {
        process.signal(SIGKILL)
        _ = await process.waitForExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts a new server on the same port with the same arguments (after ``stop()`` or ``kill()``).
    public func restart() async throws(LockheedError) -> RedisTestServer {
        try await Self.start(port: port, extraArguments: extraArguments)
    }

    /// Whether this server process (not another one on the same port) answers, authenticating
    /// with `--requirepass` when the server was started with it.
    public func answersPing() async -> Bool {
        var configuration = configuration()
        configuration.connectTimeout = .milliseconds(500)
        configuration.commandTimeout = .milliseconds(500)
        if let index = extraArguments.firstIndex(of: "--requirepass"), index + 1 < extraArguments.count {
            configuration.password = extraArguments[index + 1]
        }
        configuration.poolSize = 1
        guard let locker = try? RedisLocker(configuration: configuration) else { return false }
        let info = try? await locker.serverInfo()
        await locker.shutdown()
        return info?.contains("process_id:\(pid)\r\n") ?? false
    }
}

extension RedisTestServer: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The server without the value of `--requirepass`, which test output must not show.
    public var description: String {
        var shown = extraArguments
        if let index = shown.firstIndex(of: "--requirepass"), index + 1 < shown.count { shown[index + 1] = "***" }
        return "RedisTestServer(port: \(port), pid: \(pid), directory: \(directory), arguments: \(shown))"
    }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// Shows only ``description``, so `dump` and `String(reflecting:)` do not print the password.
    public var customMirror: Mirror { Mirror(self, children: ["server": description]) }
}
