import LockheedCore
import Logging
import NIOCore
import PostgresNIO

/// Maps postgres-nio's errors to ``LockheedCore/LockheedError``s that name the cause without
/// ever quoting a password (the server's messages do not contain it, and neither do ours).
enum PostgresErrors {
    /// SQLSTATEs after which the whole transaction is run again.
    static let retriedStates: Set<String> = [
        "40001",  // serialization_failure
        "40P01",  // deadlock_detected
        "23505",  // unique_violation: two first writers of one lock row
    ]

    /// A transaction whose `ROLLBACK` failed: the session may still be inside it, so the
    /// connection is closed, never reused (a reused one would answer every statement with
    /// 25P02, "current transaction is aborted").
    struct RollbackFailed: Error {
        let underlying: any Error
    }

    /// Rolls back after `error` ended a transaction, then rethrows `error`; throws
    /// ``RollbackFailed`` when the `ROLLBACK` itself fails.
    static func rollBack(_ connection: PostgresConnection, after error: any Error, logger: Logger) async throws -> Never
    {
        do {
            try await connection.query("ROLLBACK", logger: logger)
        } catch {
            throw RollbackFailed(underlying: error)
        }
        throw error
    }

    /// The server's SQLSTATE of `error`, if it is a server error.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// Whether `error` is worth running the transaction again for.
    static func isRetried(_ error: any Error) -> Bool {
        sqlState(error).map(retriedStates.contains) ?? false
    }

    /// `error` as a typed error; `configuration` names the server and role.
    static func map(_ error: any Error, _ configuration: PostgresConfiguration) -> LockheedError {
        if let error = error as? LockheedError { return error }
        if let error = error as? RollbackFailed { return map(error.underlying, configuration) }
        if error is CancellationError { return .cancelled }
        let server = "\(configuration.host):\(configuration.port)"
        let role = configuration.username
        if error is PostgresDecodingError {
            return .backend("postgres at \(server): a column has an unexpected type (is the schema Lockheed's?)")
        }
        guard let error = error as? PSQLError else {
            return .unavailable("postgres at \(server): \(error)")
        }
        if let info = error.serverInfo, let state = info[.sqlState] {
            let message = info[.message] ?? "error \(state)"
            switch state {
            case "28P01", "28000":
                return .unauthorized("postgres at \(server) refused role \"\(role)\": \(message)")
            case "42501":
                return .forbidden(
                    "postgres role \"\(role)\": \(message) (Lockheed needs USAGE and CREATE on schema \"\(configuration.schema)\" or an existing schema, and SELECT, INSERT, UPDATE, DELETE on its tables)"
                )
            case "3D000":
                return .invalidConfiguration("postgres at \(server): \(message)")
            case "55P03", "57014", "25P03":
                // lock_timeout, statement_timeout, idle_in_transaction_session_timeout: the
                // configured transactionTimeout ended a wait or a frozen session.
                return .timedOut(
                    "postgres at \(server): \(message) (transactionTimeout \(configuration.transactionTimeout))")
            case let state where state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53"):
                return .unavailable("postgres at \(server): \(message)")
            case "40001", "40P01":
                return .unavailable("postgres at \(server): \(message) (retries exhausted)")
            default:
                return .backend("postgres at \(server): \(message) (SQLSTATE \(state))")
            }
        }
        switch error.code {
        case .authMechanismRequiresPassword:
            return .unauthorized("postgres at \(server) requires a password for role \"\(role)\" and none was given")
        case .unsupportedAuthMechanism, .saslError:
            return .unauthorized("postgres at \(server): authentication of role \"\(role)\" failed (\(error.code))")
        case .sslUnsupported:
            return .unavailable("postgres at \(server) does not offer TLS (sslmode=require)")
        case .queryCancelled:
            return .cancelled
        default:
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return .unavailable("postgres at \(server): \(error.code)\(cause)")
        }
    }
}
