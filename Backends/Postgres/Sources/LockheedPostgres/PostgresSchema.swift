import Foundation
import LockheedCore
import Logging
import PostgresNIO

/// The tables in the configured schema, their version, and the migrations between versions.
///
/// Version 1:
/// - `migrations`: one row per applied version (`version`, `applied_at`).
/// - `locks`: one row per lock ever granted: `name`, `kind` (`mutex`/`shared`), `max_holders`,
///   `tags` (`text[]`) and `fencing_counter`, which only ever grows (`GREATEST`). Lockheed never
///   deletes a lock row, so the counter survives releases, expiries and server restarts.
/// - `leases`: one row per lease: `lock`, `holder`, `acquired_at`, `expires_at` (`NULL`: never)
///   and `fencing_token`.
enum PostgresSchema {
    /// The version this build writes.
    static let currentVersion = 1

    /// `migrations[n]` takes the schema from version `n` to `n + 1`; `S` stands for the quoted schema.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE S.locks (
                name text PRIMARY KEY,
                kind text NOT NULL,
                max_holders integer NOT NULL,
                tags text[] NOT NULL,
                fencing_counter bigint NOT NULL
            )
            """,
            """
            CREATE TABLE S.leases (
                lock text NOT NULL,
                holder text NOT NULL,
                acquired_at timestamptz NOT NULL,
                expires_at timestamptz,
                fencing_token bigint NOT NULL,
                PRIMARY KEY (lock, holder)
            )
            """,
        ]
    ]

    /// Brings the schema to ``currentVersion``, or throws
    /// ``LockheedCore/LockheedError/incompatibleStorage(_:)`` for a newer one (left unchanged).
    ///
    /// Several processes may start at once: the migration runs in one transaction under a
    /// transaction-scoped advisory lock keyed by the schema name, and re-reads the version once
    /// it holds that lock.
    static func prepare(_ connection: PostgresConnection, configuration: PostgresConfiguration, logger: Logger)
        async throws
    {
        let schema = configuration.schema
        if try await version(connection, schema: schema, logger: logger) == currentVersion { return }
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtext(\("lockheed.schema." + schema)))", logger: logger)
            let exists =
                try await connection.query(
                    "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = \(schema))", logger: logger
                ).collect().first?.decode(Bool.self) ?? false
            if !exists {
                try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \"\(schema)\""), logger: logger)
            }
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        CREATE TABLE IF NOT EXISTS "\(schema)".migrations (
                            version integer PRIMARY KEY,
                            applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
                        )
                        """), logger: logger)
            var version = try await version(connection, schema: schema, logger: logger)
            while version < currentVersion {
                for statement in migrations[version] {
                    let sql = statement.replacingOccurrences(of: "S.", with: "\"\(schema)\".")
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                version += 1
                try await connection.query(
                    PostgresQuery(unsafeSQL: "INSERT INTO \"\(schema)\".migrations (version) VALUES (\(version))"),
                    logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            try await PostgresErrors.rollBack(connection, after: error, logger: logger)
        }
    }

    /// The recorded version (0 without a migrations table); throws for a newer one.
    private static func version(_ connection: PostgresConnection, schema: String, logger: Logger) async throws -> Int {
        let table = "\"\(schema)\".migrations"
        let exists =
            try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = \(schema) AND tablename = 'migrations')",
                logger: logger
            )
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return 0 }
        let version =
            try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0)::bigint FROM \(table)"), logger: logger
            ).collect().first?.decode(Int64.self) ?? 0
        if version > currentVersion {
            throw LockheedError.incompatibleStorage(
                "postgres schema \"\(schema)\" has Lockheed schema version \(version), newer than this build's \(currentVersion); upgrade Lockheed (the schema was left unchanged)"
            )
        }
        return Int(version)
    }
}
