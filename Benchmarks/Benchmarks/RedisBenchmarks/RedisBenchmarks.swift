import Benchmark
import BenchmarkSupport
import Foundation
import LockheedConformance
import LockheedCore
@_spi(Testing) import LockheedRedis
import LockheedRedisTesting
import LockheedTestSupport

// Redis backend benchmarks. One server for the run: the one on LOCKHEED_REDIS_PORT, or a
// throwaway redis-server started here. External comparisons run in the same process:
// redis-benchmark (the two-round-trip floor) and redis-py's Lock (python from LOCKHEED_PYTHON,
// default python3, with the `redis` package installed).

/// The server every benchmark uses, started once, and the lockers of the benchmarks.
///
/// package-benchmark calls a benchmark's closure once per sample, so a locker made inside the
/// closure would connect inside every measured sample; the lockers are kept here instead.
actor BenchServer {
    static let shared = BenchServer()
    private var server: Task<RedisTestServer, any Error>?
    private var lockers: [String: RedisLocker] = [:]

    /// The locker for `label` (key prefix `bench-<prefix>`), made and connected once per benchmark.
    func locker(_ label: String, prefix: String, replySpin: Duration? = nil) async throws -> RedisLocker {
        if let locker = lockers[label] { return locker }
        var configuration = RedisConfiguration(port: try await get(), keyPrefix: "bench-\(prefix)")
        if let replySpin { configuration.replySpin = replySpin }
        let locker = try RedisLocker(configuration: configuration)
        _ = try await locker.list()  // connects
        lockers[label] = locker
        return locker
    }

    /// The port of LOCKHEED_REDIS_PORT, or of a server started here on first use.
    func get() async throws -> Int {
        if let text = ProcessInfo.processInfo.environment["LOCKHEED_REDIS_PORT"], let value = Int(text) {
            return value
        }
        if let server { return try await server.value.port }
        let task = Task { () async throws -> RedisTestServer in try await RedisTestServer.start() }
        server = task
        return try await task.value.port
    }

    /// Shuts the lockers down and stops the server started here, if any (after each benchmark).
    func stop() async {
        for locker in lockers.values { await locker.shutdown() }
        lockers = [:]
        if let started = try? await server?.value { await started.stop() }
        server = nil
    }
}

func makeLocker(_ label: String, prefix: String? = nil, replySpin: Duration? = nil) async throws -> RedisLocker {
    try await BenchServer.shared.locker(label, prefix: prefix ?? label, replySpin: replySpin)
}

/// Runs a command to completion and returns its standard output.
func runTool(_ executable: String, _ arguments: [String]) async throws -> String {
    let output = NSTemporaryDirectory() + "lockheed-bench-\(UInt64.random(in: 0...UInt64.max)).out"
    defer { try? FileManager.default.removeItem(atPath: output) }
    let path = executable.hasPrefix("/") ? executable : "/usr/bin/env"
    let child = try ChildProcess.spawn(
        executable: path, arguments: executable.hasPrefix("/") ? arguments : [executable] + arguments,
        outputPath: output)
    let status = await child.waitForExit()
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard status == 0 else { throw LockheedError.backend("\(executable) exited with \(status): \(text)") }
    return text
}

/// The median microseconds per request of one command from `redis-benchmark` (one client, no
/// pipelining).
func redisBenchmarkMicroseconds(port: Int, requests: Int, _ command: [String]) async throws -> Double {
    let csv = try await runTool(
        "redis-benchmark", ["-p", String(port), "-c", "1", "-P", "1", "-n", String(requests), "--csv"] + command)
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",...  then one row of values
    // (the command itself may contain commas, so count columns from the end).
    let columns = csv.split(separator: "\n").last?.split(separator: ",") ?? []
    guard columns.count >= 7,
        let p50 = Double(columns[columns.count - 4].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
    else { throw LockheedError.backend("unreadable redis-benchmark output: \(csv)") }
    return p50 * 1000
}

/// Per-pair latency in microseconds, reported as a custom metric.
let pairMicros = BenchmarkMetric.custom("µs per acquire+release", useScalingFactor: false)
let handoffMicros = BenchmarkMetric.custom("hand-off µs", useScalingFactor: false)

/// Measures hand-offs: B waits (with `waitTimeout` per wait) while A holds; A releases; the
/// metric is the time from A's release call to B's grant.
func handoff(_ benchmark: Benchmark, a: RedisLocker, b: any Locker, waitTimeout: Duration) async throws {
    let name = try LockName("handoff")
    let requestA = try AcquireRequest(name: name, holder: "a", duration: .seconds(30))
    let requestB = try AcquireRequest(name: name, holder: "b", duration: .seconds(30))
    for _ in benchmark.scaledIterations {
        _ = try await a.acquire(requestA)
        let waiter = Task { () async throws(LockheedError) -> ContinuousClock.Instant in
            try await acquireWaiting(b, requestB, waitTimeout: waitTimeout)
        }
        // A random phase, so polling is not always caught at the same point of its interval.
        try await Task.sleep(for: .milliseconds(Int.random(in: 20...130)))
        let released = ContinuousClock.now
        _ = try await a.release(name, holder: "a")
        let elapsed = try await waiter.value - released
        let (seconds, attoseconds) = elapsed.components
        benchmark.measurement(handoffMicros, Int(seconds * 1_000_000 + attoseconds / 1_000_000_000_000))
        _ = try await b.release(name, holder: "b")
    }
}

/// Acquires, waiting for a change between refusals; returns when granted.
func acquireWaiting(
    _ locker: any Locker, _ request: AcquireRequest, waitTimeout: Duration
) async throws(LockheedError) -> ContinuousClock.Instant {
    while true {
        do {
            _ = try await locker.acquire(request)
            return ContinuousClock.now
        } catch {
            guard error.isTransient else { throw error }
            try await locker.waitForChange(of: request.name, timeout: waitTimeout)
        }
    }
}

/// `waitForChange` without notification: plain sleeping, as a backend without pub/sub would.
struct PollingOnly: Locker {
    let base: RedisLocker
    var backendName: String { base.backendName }
    var capabilities: LockerCapabilities { base.capabilities.subtracting(.changeNotification) }
    func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease { try await base.acquire(request) }
    func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await base.renew(name, holder: holder, duration: duration)
    }
    func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await base.release(name, holder: holder)
    }
    func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await base.breakLock(name, if: condition)
    }
    func state(of name: LockName) async throws(LockheedError) -> LockState? { try await base.state(of: name) }
    func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        try await base.list(matching: condition)
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.teardown = { await BenchServer.shared.stop() }
    // Wall clock is measured without allocation counting: package-benchmark's counting interposer
    // adds about 0.4 µs to every counted allocation, which would bill a figure for its own
    // measurement. Allocations are counted in a twin run of the same loop (", allocations").
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], warmupIterations: 200, maxDuration: .seconds(4), maxIterations: 20_000)
    let allocations = Benchmark.Configuration(
        metrics: [.mallocCountTotal], warmupIterations: 200, maxDuration: .seconds(1), maxIterations: 5_000)
    let external = Benchmark.Configuration(
        metrics: [pairMicros], warmupIterations: 0, maxDuration: .seconds(60), maxIterations: 3)

    // The floor: two plain commands per pair (SET NX PX to take, DEL to free), one client, no
    // pipelining, measured by redis-benchmark against the same server.
    Benchmark("redis: floor, redis-benchmark SET NX PX + DEL", configuration: external) { benchmark in
        let port = try await BenchServer.shared.get()
        let set = try await redisBenchmarkMicroseconds(
            port: port, requests: 20_000, ["SET", "floor", "x", "NX", "PX", "30000"])
        let del = try await redisBenchmarkMicroseconds(port: port, requests: 20_000, ["DEL", "floor"])
        benchmark.measurement(pairMicros, Int((set + del).rounded()))
    }

    // Floors in this harness (same statistic as ours): libhiredis's blocking client sending
    // SET NX PX + DEL, and sending our own two scripts exactly as the locker does. Ours against
    // the first is the whole cost; against the second, the client's (pool, reactor, decoding);
    // the second against the first, the server's work in the scripts.
    Benchmark("redis: floor, bare hiredis SET NX PX + DEL") { benchmark in
        let client = try BareHiredis(port: try await BenchServer.shared.get())
        let set = BareHiredis.Command(["SET", "bare-floor", "x", "NX", "PX", "30000"])
        let del = BareHiredis.Command(["DEL", "bare-floor"])
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try client.run(set)
            try client.run(del)
        }
        benchmark.stopMeasurement()
    }
    Benchmark("redis: floor, bare hiredis sending our acquire and release scripts") { benchmark in
        let port = try await BenchServer.shared.get()
        let client = try BareHiredis(port: port)
        let locker = try await makeLocker("scripts")
        let request = try AcquireRequest(name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
        let commands = locker.uncontendedCycleCommands(request)
        for load in commands.load { try client.run(BareHiredis.Command(load)) }
        let (acquire, release) = (BareHiredis.Command(commands.acquire), BareHiredis.Command(commands.release))
        try client.run(acquire)
        try client.run(release)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try client.run(acquire)
            try client.run(release)
        }
        benchmark.stopMeasurement()
    }

    // Ours against a bare client's pair of commands in alternating batches.
    func interleaved(_ name: String, label: String, _ acquire: BareHiredis.Command, _ release: BareHiredis.Command) {
        Benchmark(name, configuration: interleavedConfiguration()) { benchmark in
            let client = try BareHiredis(port: try await BenchServer.shared.get())
            try await recordInterleavedRatio(benchmark, locker: try await makeLocker(label), cycles: 250) {
                try client.run(acquire)
                try client.run(release)
            }
        }
    }
    // Against SET NX PX + DEL (the ratio the thresholds judge; redis-benchmark, a separate
    // process, cannot alternate with ours).
    interleaved(
        "redis: locker / bare hiredis SET NX PX + DEL, interleaved", label: "interleaved",
        BareHiredis.Command(["SET", "bare-floor", "x", "NX", "PX", "30000"]),
        BareHiredis.Command(["DEL", "bare-floor"]))
    // Against the least a fenced lock costs the server: one script taking a token (INCR) and the
    // key (SET NX PX), one deleting the key only for its holder (GET + DEL). No shared locks, no
    // tags, and tokens that repeat when the counter is lost: a floor, not an alternative.
    interleaved(
        "redis: locker / bare hiredis minimal fenced lock, interleaved", label: "interleaved-fenced",
        BareHiredis.Command([
            "EVAL",
            "local t = redis.call('INCR', KEYS[2]) if redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. t, 'NX', 'PX', "
                + "ARGV[2]) then return t end return false", "2", "fenced-floor", "fenced-floor-counter", "holder",
            "30000",
        ]),
        BareHiredis.Command([
            "EVAL",
            "local v = redis.call('GET', KEYS[1]) if v and string.sub(v, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then "
                + "return redis.call('DEL', KEYS[1]) end return 0", "1", "fenced-floor", "holder",
        ]))

    // redis-py's Lock (SET NX PX to acquire, a Lua script to release), same server.
    Benchmark("redis: redis-py Lock acquire+release", configuration: external) { benchmark in
        let port = try await BenchServer.shared.get()
        let python = ProcessInfo.processInfo.environment["LOCKHEED_PYTHON"] ?? "python3"
        // This file is Benchmarks/Benchmarks/RedisBenchmarks/RedisBenchmarks.swift in the repository.
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Backends/Redis/Tools/redis_py_lock.py").path
        let text = try await runTool(python, [script, String(port), "20000"])
        guard let micros = Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw LockheedError.backend("unreadable redis-py output: \(text)")
        }
        benchmark.measurement(pairMicros, Int(micros.rounded()))
    }

    // Ours: one uncontended acquire + release through the Locker protocol (two scripts, two
    // round trips); by default, and without polling for replies (every reply awaited by the
    // reactor thread).
    let variants: [(String, Duration?, Benchmark.Configuration)] = [
        ("", nil, Benchmark.defaultConfiguration), (", replySpin 0", .zero, Benchmark.defaultConfiguration),
        (", allocations", nil, allocations),
    ]
    for (suffix, spin, configuration) in variants {
        Benchmark("redis: locker acquire+release (uncontended)\(suffix)", configuration: configuration) { benchmark in
            let locker = try await makeLocker("locker\(suffix)", prefix: "locker", replySpin: spin)
            let request = try AcquireRequest(
                name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                _ = try await locker.acquire(request)
                _ = try await locker.release(request.name, holder: request.holder)
            }
            benchmark.stopMeasurement()
        }
    }

    // The full handle on Redis: Lock.acquire + release with events, metrics and validation.
    Benchmark("redis: Lock acquire+release (uncontended)") { benchmark in
        let locker = try await makeLocker("handle")
        let lock = try Lock("bench", locker: locker).keepAlive(false)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await lock.acquire()
            try await lock.release()
        }
        benchmark.stopMeasurement()
    }

    // Throughput under concurrency: 8 tasks, 25 acquire+release pairs each on their own lock,
    // through one locker (4 connections), with and without reply polling.
    let concurrent = Benchmark.Configuration(
        metrics: [.wallClock, .throughput], warmupIterations: 10, maxDuration: .seconds(6), maxIterations: 2_000)
    for spin in [Duration.zero, .microseconds(200)] {
        let label = "\(spin == .zero ? "replySpin 0" : "replySpin 200 µs")"
        Benchmark("redis: 8 tasks x 25 acquire+release, \(label)", configuration: concurrent) { benchmark in
            let locker = try await makeLocker("concurrent-\(spin)", prefix: "concurrent", replySpin: spin)
            let requests = try (0..<8).map {
                try AcquireRequest(name: LockName("c\($0)"), holder: "h\($0)", duration: .seconds(30))
            }
            benchmark.startMeasurement()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for request in requests {
                    group.addTask {
                        for _ in 0..<25 {
                            _ = try await locker.acquire(request)
                            _ = try await locker.release(request.name, holder: request.holder)
                        }
                    }
                }
                try await group.waitForAll()
            }
            benchmark.stopMeasurement()
        }
    }

    let handoffs = Benchmark.Configuration(
        metrics: [handoffMicros], warmupIterations: 3, maxDuration: .seconds(20), maxIterations: 60)

    // Contended hand-off, woken by the release's pub/sub message (wait timeout 1 s as a backstop).
    Benchmark("redis: hand-off, pub/sub notification", configuration: handoffs) { benchmark in
        let a = try await makeLocker("notify-a", prefix: "notify")
        let b = try await makeLocker("notify-b", prefix: "notify")
        try await handoff(benchmark, a: a, b: b, waitTimeout: .seconds(1))
    }

    // Contended hand-off by polling without notification: retry every 10 ms / 100 ms.
    for interval in [10, 100] {
        Benchmark("redis: hand-off, polling every \(interval) ms", configuration: handoffs) { benchmark in
            let a = try await makeLocker("poll\(interval)-a", prefix: "poll\(interval)")
            let b = try await makeLocker("poll\(interval)-b", prefix: "poll\(interval)")
            try await handoff(benchmark, a: a, b: PollingOnly(base: b), waitTimeout: .milliseconds(interval))
        }
    }
}
