import Benchmark
import BenchmarkSupport
import Foundation
import LockheedCore
import LockheedPostgres
import LockheedPostgresTesting
import Logging
import PostgresNIO

// PostgreSQL backend benchmarks: one cluster for the run (a throwaway one started here with
// PostgresTestServer, or the one on LOCKHEED_POSTGRES_PORT as the superuser `postgres`).
// The floor runs the very statements of one uncontended acquire + release through raw
// postgres-nio calls on one connection, side by side with the locker in the same run.

/// The server and the connections of the benchmarks, made once: package-benchmark calls a
/// benchmark's closure once per sample.
actor BenchServer {
    static let shared = BenchServer()
    private var server: Task<PostgresTestServer, any Error>?
    private var locker: PostgresLocker?
    private var connection: PostgresConnection?

    func port() async throws -> Int {
        if let text = ProcessInfo.processInfo.environment["LOCKHEED_POSTGRES_PORT"], let value = Int(text) {
            return value
        }
        if let server { return try await server.value.port }
        let task = Task { () async throws -> PostgresTestServer in try await PostgresTestServer.start() }
        server = task
        return try await task.value.port
    }

    /// The locker on schema `bench` (created by its first call).
    func benchLocker() async throws -> PostgresLocker {
        if let locker { return locker }
        let made = try PostgresLocker(configuration: PostgresConfiguration(port: try await port(), schema: "bench"))
        _ = try await made.list()
        locker = made
        return made
    }

    /// A raw connection for the floor, after the schema exists.
    func rawConnection() async throws -> PostgresConnection {
        if let connection { return connection }
        _ = try await benchLocker()
        let made = try await PostgresConnection.connect(
            configuration: .init(
                host: "127.0.0.1", port: try await port(), username: "postgres", password: nil, database: "postgres",
                tls: .disable), id: 1, logger: benchLogger)
        connection = made
        return made
    }

    func stop() async {
        await locker?.shutdown()
        try? await connection?.close()
        locker = nil
        connection = nil
        if let started = try? await server?.value { await started.stop() }
        server = nil
    }
}

let benchLogger = Logger(label: "lockheed.postgres.bench")

/// The statements `PostgresLockStore` runs for one uncontended acquire (a new lease on a free
/// lock whose row exists) and its release, with the values it would bind.
func floorCycle(_ connection: PostgresConnection, name: String) async throws {
    let now = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
    let leaseColumns = """
        SELECT \(now), coalesce(array_agg(holder ORDER BY fencing_token), '{}'),
            coalesce(array_agg((extract(epoch FROM acquired_at) * 1000000)::bigint ORDER BY fencing_token), '{}'),
            coalesce(array_agg(coalesce((extract(epoch FROM expires_at) * 1000000)::bigint, -9223372036854775808)
                ORDER BY fencing_token), '{}'),
            coalesce(array_agg(fencing_token ORDER BY fencing_token), '{}')
        FROM bench.leases WHERE lock = $1
        """
    var nameBinding = PostgresBindings()
    nameBinding.append(name)
    let leaseQuery = PostgresQuery(unsafeSQL: leaseColumns, binds: nameBinding)
    // Acquire.
    try await connection.query("BEGIN", logger: benchLogger)
    let row = try await connection.query(
        "SELECT kind, max_holders, tags, fencing_counter FROM bench.locks WHERE name = \(name) FOR UPDATE",
        logger: benchLogger
    ).collect().first
    var counter: Int64 = 0
    if let row { (_, _, _, counter) = try row.decode((String, Int32, [String], Int64).self) }
    var clock: Int64 = 0
    let leaseRow = try await connection.query(leaseQuery, logger: benchLogger)
        .collect().first
    if let leaseRow { (clock, _, _, _, _) = try leaseRow.decode((Int64, [String], [Int64], [Int64], [Int64]).self) }
    let holders: [String] = ["floor-holder"]
    let acquired: [Int64] = [clock]
    let expires: [Int64] = [clock + 30_000_000]
    let tokens: [Int64] = [counter + 1]
    let noTags: [String] = []
    try await connection.query(
        """
        UPDATE bench.locks SET kind = \("mutex"), max_holders = \(Int32(1)), tags = \(noTags),
            fencing_counter = GREATEST(fencing_counter, \(counter + 1)) WHERE name = \(name)
        """, logger: benchLogger)
    try await connection.query(
        """
        INSERT INTO bench.leases (lock, holder, acquired_at, expires_at, fencing_token)
        SELECT \(name), holder, ('epoch'::timestamptz + acquired * interval '1 microsecond'),
            CASE WHEN expires = -9223372036854775808 THEN NULL
            ELSE ('epoch'::timestamptz + expires * interval '1 microsecond') END, token
        FROM unnest(\(holders)::text[], \(acquired)::bigint[], \(expires)::bigint[], \(tokens)::bigint[])
            AS u(holder, acquired, expires, token)
        ON CONFLICT (lock, holder) DO UPDATE SET acquired_at = excluded.acquired_at,
            expires_at = excluded.expires_at, fencing_token = excluded.fencing_token
        """, logger: benchLogger)
    try await connection.query("COMMIT", logger: benchLogger)
    // Release.
    try await connection.query("BEGIN", logger: benchLogger)
    _ = try await connection.query(
        "SELECT kind, max_holders, tags, fencing_counter FROM bench.locks WHERE name = \(name) FOR UPDATE",
        logger: benchLogger
    ).collect()
    _ = try await connection.query(leaseQuery, logger: benchLogger).collect()
    try await connection.query(
        """
        WITH gone AS (DELETE FROM bench.leases WHERE lock = \(name) AND holder = ANY(\(holders)))
        SELECT pg_notify(\("lockheed.bench"), \(name))
        """, logger: benchLogger)
    try await connection.query("COMMIT", logger: benchLogger)
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.teardown = { await BenchServer.shared.stop() }
    // Wall clock is measured without allocation counting: package-benchmark's counting interposer
    // adds about 0.4 µs to every counted allocation, which would bill a figure for its own
    // measurement. Allocations are counted in a twin run of the same loop (", allocations").
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], warmupIterations: 50, maxDuration: .seconds(5), maxIterations: 5_000)
    let allocations = Benchmark.Configuration(
        metrics: [.mallocCountTotal], warmupIterations: 50, maxDuration: .seconds(1), maxIterations: 1_000)

    // The floor: the same statements through raw postgres-nio calls on one open connection.
    Benchmark("postgres: floor, the same SQL through raw postgres-nio") { benchmark in
        let connection = try await BenchServer.shared.rawConnection()
        // The row exists, as it does for the locker after its first grant.
        let locker = try await BenchServer.shared.benchLocker()
        let request = try AcquireRequest(name: LockName("floor"), holder: "seed", duration: .seconds(30))
        _ = try await locker.acquire(request)
        _ = try await locker.release(request.name, holder: "seed")
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { try await floorCycle(connection, name: "floor") }
        benchmark.stopMeasurement()
    }

    // Ours: one uncontended acquire + release through the Locker protocol.
    for (suffix, configuration) in [("", Benchmark.defaultConfiguration), (", allocations", allocations)] {
        Benchmark("postgres: locker acquire+release (uncontended)\(suffix)", configuration: configuration) {
            benchmark in
            let locker = try await BenchServer.shared.benchLocker()
            let request = try AcquireRequest(name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                _ = try await locker.acquire(request)
                _ = try await locker.release(request.name, holder: request.holder)
            }
            benchmark.stopMeasurement()
        }
    }

    // Ours against the floor in alternating batches (the ratio the thresholds judge).
    Benchmark(
        "postgres: locker / floor, interleaved", configuration: interleavedConfiguration(samples: 20, seconds: 30)
    ) { benchmark in
        let connection = try await BenchServer.shared.rawConnection()
        let locker = try await BenchServer.shared.benchLocker()
        let seed = try AcquireRequest(name: LockName("floor"), holder: "seed", duration: .seconds(30))
        _ = try await locker.acquire(seed)  // the floor's row exists, as in the floor's benchmark
        _ = try await locker.release(seed.name, holder: "seed")
        try await recordInterleavedRatio(benchmark, locker: locker, cycles: 20) {
            try await floorCycle(connection, name: "floor")
        }
    }

    // The full handle: Lock.acquire + release with events, metrics and validation.
    Benchmark("postgres: Lock acquire+release (uncontended)") { benchmark in
        let locker = try await BenchServer.shared.benchLocker()
        let lock = try Lock("bench-handle", locker: locker).keepAlive(false)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await lock.acquire()
            try await lock.release()
        }
        benchmark.stopMeasurement()
    }
}
