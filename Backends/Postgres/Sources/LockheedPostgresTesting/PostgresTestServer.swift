import Foundation
import Glibc
import LockheedCore
import LockheedPostgres
import LockheedTestSupport
import Logging
import PostgresNIO

/// Test support: a throwaway PostgreSQL cluster (`initdb`, then `postgres`) in a temporary
/// directory on a free loopback port, with `fsync` off. Not for production use.
///
/// PostgreSQL refuses to run as root: when the caller is root, the cluster's directory is given
/// to the `postgres` user and the server runs as that user (`setpriv`). Loopback connections
/// are trusted, except for the role ``passwordRole``, which must log in with ``password``
/// (SCRAM). A watchdog shell stops the server and removes its directory if the starting process exits
/// without ``stop()``.
public struct PostgresTestServer: Sendable {
    /// The loopback port the server listens on.
    public let port: Int
    /// The cluster's directory (its log is `postgres.log` there).
    public let directory: String
    /// The server's process id.
    public let pid: Int32
    private let process: ChildProcess

    /// The role that must authenticate with ``password``.
    public static let passwordRole = "lockheed_secret"
    /// The password of ``passwordRole``.
    public static let password = "correct horse battery staple"

    /// Creates a cluster and starts it on a free port (retried on a clash), returning once it
    /// answers queries; throws ``LockheedCore/LockheedError/unavailable(_:)`` otherwise.
    public static func start() async throws(LockheedError) -> PostgresTestServer {
        let directory = try await initializeCluster()
        var attempt = 0
        while true {
            attempt += 1
            do throws(LockheedError) {
                let server = try await launch(directory: directory, port: freeLoopbackPort())
                try await server.createPasswordRole()
                return server
            } catch {
                guard attempt < 5, error.code == .unavailable, error.message.contains("in use") else {
                    try? FileManager.default.removeItem(atPath: directory)
                    throw error
                }
            }
        }
    }

    /// A configuration for this server as the superuser `postgres`, with `schema`.
    public func configuration(schema: String = "lockheed") -> PostgresConfiguration {
        PostgresConfiguration(host: "127.0.0.1", port: port, username: "postgres", schema: schema)
    }

    /// Stops the server (fast shutdown), waits for it to exit and removes its directory.
    public func stop() async {
        await halt()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Stops the server (fast shutdown) and waits for it to exit, keeping its data for ``restart()``.
    public func halt() async {
        process.signal(SIGINT)
        _ = await process.waitForExit()
    }

    /// Starts the server again on the same port and data (after ``halt()``).
    public func restart() async throws(LockheedError) -> PostgresTestServer {
        try await Self.launch(directory: directory, port: port)
    }

    // MARK: Starting

    private static func initializeCluster() async throws(LockheedError) -> String {
        // As root, /tmp: the server's user must reach the directory ($TMPDIR may be under /root).
        let template = (getuid() == 0 ? "/tmp/" : NSTemporaryDirectory()) + "lockheed-postgres-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw .backend("cannot create a temporary directory") }
        let directory = String(cString: made)
        if getuid() == 0 {
            guard let user = getpwnam("postgres") else {
                throw .unavailable("running as root, but there is no `postgres` user to run the server as")
            }
            chown(directory, user.pointee.pw_uid, user.pointee.pw_gid)
        }
        // A watchdog stops the server (its pid is in postmaster.pid) and removes the directory
        // when this process ends without doing so, even in the middle of initdb.
        let pidFile = directory + "/data/postmaster.pid"
        _ = try? ChildProcess.spawn(
            executable: "/bin/sh",
            arguments: [
                "-c",
                "while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done; [ -d '\(directory)' ] || exit 0; "
                    + "P=$(head -n 1 '\(pidFile)' 2>/dev/null); "
                    + "if [ -n \"$P\" ]; then kill -INT \"$P\"; sleep 1; kill -9 \"$P\" 2>/dev/null; sleep 0.3; fi; "
                    + "rm -rf '\(directory)'",
            ], outputPath: "/dev/null")
        let binaries = try binDirectory()
        let status = await run(
            binaries + "/initdb",
            [
                "-D", directory + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync",
                "--no-instructions",
            ],
            log: directory + "/initdb.log")
        guard status == 0 else {
            let log = (try? String(contentsOfFile: directory + "/initdb.log", encoding: .utf8)) ?? ""
            throw .unavailable("initdb failed (\(status)): \(log.suffix(600))")
        }
        let hba = """
            local all all trust
            host all \(passwordRole) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust

            """
        do {
            try hba.write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
        } catch {
            throw .backend("cannot write pg_hba.conf: \(error)")
        }
        return directory
    }

    private static func launch(directory: String, port: Int) async throws(LockheedError) -> PostgresTestServer {
        let binaries = try binDirectory()
        let arguments = [
            "-D", directory + "/data", "-p", String(port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=\(directory)", "-c", "fsync=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200", "-c", "shared_buffers=32MB",
        ]
        let process: ChildProcess
        do {
            let (executable, prefix) = asServerUser(binaries + "/postgres")
            process = try ChildProcess.spawn(
                executable: executable, arguments: prefix + arguments, outputPath: directory + "/postgres.log")
        } catch { throw .backend("\(error)") }
        let server = PostgresTestServer(port: port, directory: directory, pid: process.pid, process: process)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            var status: Int32 = 0
            if waitpid(process.pid, &status, WNOHANG) == process.pid {
                let log = (try? String(contentsOfFile: directory + "/postgres.log", encoding: .utf8)) ?? ""
                let reason = log.contains("already in use") ? "port \(port) in use" : "exited at start"
                throw .unavailable("postgres \(reason): \(log.suffix(600))")
            }
            if await server.answers() { return server }
            try? await Task.sleep(for: .milliseconds(50))
        }
        process.signal(SIGKILL)
        _ = await process.waitForExit()
        throw .unavailable("postgres on port \(port) did not answer within 30 s")
    }

    /// Whether this very cluster (not another server on the port) answers a query.
    func answers() async -> Bool {
        let result: String? = try? await withConnection { connection in
            try await connection.query("SHOW data_directory", logger: Self.logger).collect().first?.decode(String.self)
        }
        return result.map { $0.hasPrefix(directory) } ?? false
    }

    private func createPasswordRole() async throws(LockheedError) {
        do {
            _ = try await withConnection { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "CREATE ROLE \(Self.passwordRole) LOGIN SUPERUSER PASSWORD '\(Self.password)'"),
                    logger: Self.logger)
            }
        } catch {
            throw .unavailable("cannot create the password role: \(String(reflecting: error))")
        }
    }

    /// Runs `body` on a new superuser connection.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        var configuration = PostgresConnection.Configuration(
            host: "127.0.0.1", port: port, username: "postgres", password: nil, database: "postgres", tls: .disable)
        configuration.options.connectTimeout = .seconds(2)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Self.logger)
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    private static let logger = Logger(label: "lockheed.postgres.test-server")

    /// The directory of `initdb` and `postgres`: `$LOCKHEED_POSTGRES_BIN`, else the newest
    /// `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`'s usual place on `PATH`.
    static func binDirectory() throws(LockheedError) -> String {
        let environment = ProcessInfo.processInfo.environment
        if let explicit = environment["LOCKHEED_POSTGRES_BIN"] { return explicit }
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init)
        if let newest = versions.max(), FileManager.default.isExecutableFile(atPath: "\(root)/\(newest)/bin/postgres") {
            return "\(root)/\(newest)/bin"
        }
        for path in (environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(path)/postgres") {
            return String(path)
        }
        throw .unavailable("no PostgreSQL server binaries found (install `postgresql`, or set LOCKHEED_POSTGRES_BIN)")
    }

    /// `executable` run as the `postgres` user when this process is root.
    private static func asServerUser(_ executable: String) -> (String, [String]) {
        guard getuid() == 0 else { return (executable, []) }
        return ("setpriv", ["--reuid=postgres", "--regid=postgres", "--init-groups", "--", executable])
    }

    /// Runs `executable` to its end, polling rather than blocking a thread of the cooperative
    /// pool (initdb takes seconds; parallel tests would starve meanwhile).
    private static func run(_ executable: String, _ arguments: [String], log: String) async -> Int32 {
        let (command, prefix) = asServerUser(executable)
        guard let child = try? ChildProcess.spawn(executable: command, arguments: prefix + arguments, outputPath: log)
        else { return -1 }
        return await child.waitForExit()
    }
}
