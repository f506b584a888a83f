import LockheedCore
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// A few open connections reused across operations.
///
/// postgres-nio's `PostgresClient` queues requests while it cannot connect, for up to a minute
/// (its circuit breaker), and then fails them without the cause; a lock must fail fast with the
/// cause (a wrong password is not an outage). So each operation takes an idle connection or
/// opens one, and a failed connect is reported at once, typed.
final class PostgresConnectionPool: Sendable {
    let configuration: PostgresConfiguration
    private let connectionConfiguration: PostgresConnection.Configuration
    private let state = Mutex(State())
    private let logger: Logger
    private let opened = Atomic<Int>(0)

    /// How many connections this pool has opened so far (the listener's included).
    var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    private struct State {
        var idle: [PostgresConnection] = []
        var nextID = 0
        var isShutDown = false
    }

    init(configuration: PostgresConfiguration, logger: Logger) throws(LockheedError) {
        self.configuration = configuration
        self.logger = logger
        var connection = PostgresConnection.Configuration(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, database: configuration.database, tls: .disable)
        if configuration.sslMode == .require {
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            do {
                connection.tls = .require(try NIOSSLContext(configuration: tls))
            } catch {
                throw .invalidConfiguration("cannot set up TLS for postgres: \(error)")
            }
        }
        connection.options.connectTimeout = .nanoseconds(
            configuration.connectTimeout.components.seconds * 1_000_000_000
                + configuration.connectTimeout.components.attoseconds / 1_000_000_000)
        // A session frozen inside a transaction, or a statement stuck behind one, is ended by
        // the server after transactionTimeout: nobody waits on a frozen client for longer.
        let timeout = configuration.transactionTimeout.components
        let milliseconds = String(max(1, timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000))
        connection.options.additionalStartupParameters = [
            ("idle_in_transaction_session_timeout", milliseconds), ("lock_timeout", milliseconds),
            ("statement_timeout", milliseconds),
        ]
        connectionConfiguration = connection
    }

    /// Opens a new connection (not pooled), or throws a typed error.
    func connect() async throws(LockheedError) -> PostgresConnection {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        opened.add(1, ordering: .relaxed)
        do {
            return try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: connectionConfiguration, id: id,
                logger: logger)
        } catch {
            throw PostgresErrors.map(error, configuration)
        }
    }

    /// Runs `body` on an idle or new connection. The connection goes back to the pool only when
    /// `body` returned or threw a server error with the connection still usable; otherwise it is closed.
    func withConnection<T: Sendable>(
        _ body: (PostgresConnection) async throws -> T
    ) async throws(LockheedError) -> T {
        guard let connection = try await take() else {
            throw .unavailable("postgres locker for \(configuration) was shut down")
        }
        do {
            let result = try await body(connection)
            await give(connection)
            return result
        } catch {
            // A refusal or a server error leaves the session usable (the caller rolled back); a
            // connection error, a failed rollback or a cancellation in the middle of a statement
            // may not.
            let usable = error is LockheedError || PostgresErrors.sqlState(error) != nil
            if usable, !connection.isClosed, !Task.isCancelled {
                await give(connection)
            } else {
                try? await connection.close()
            }
            throw PostgresErrors.map(error, configuration)
        }
    }

    private func take() async throws(LockheedError) -> PostgresConnection? {
        while true {
            let (reused, isShutDown) = state.withLock { state in (state.idle.popLast(), state.isShutDown) }
            if isShutDown { return nil }
            guard let reused else { return try await connect() }
            if !reused.isClosed { return reused }
        }
    }

    /// Keeps `connection` for reuse, or closes it and waits until it is closed (postgres-nio
    /// requires a connection to be closed before it is released).
    private func give(_ connection: PostgresConnection) async {
        let keep = state.withLock { state in
            guard !state.isShutDown, state.idle.count < configuration.poolSize, !connection.isClosed else {
                return false
            }
            state.idle.append(connection)
            return true
        }
        if !keep { try? await connection.close() }
    }

    /// Closes every idle connection and refuses new work.
    func shutdown() async {
        for connection in takeIdle(shuttingDown: true) { try? await connection.close() }
    }

    /// A locker dropped without `shutdown()` still closes its idle connections (PostgresNIO
    /// traps on a connection released while open).
    deinit {
        let idle = takeIdle(shuttingDown: false)
        guard !idle.isEmpty else { return }
        Task { for connection in idle { try? await connection.close() } }
    }

    /// Empties the pool, returning what was idle in it.
    private func takeIdle(shuttingDown: Bool) -> [PostgresConnection] {
        state.withLock { state in
            if shuttingDown { state.isShutDown = true }
            defer { state.idle.removeAll() }
            return state.idle
        }
    }
}
