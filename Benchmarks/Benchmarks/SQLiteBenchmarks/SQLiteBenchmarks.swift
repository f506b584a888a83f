import Benchmark
import BenchmarkSupport
import Foundation
import LockheedConformance
import LockheedCore
import LockheedSQLite
import LockheedTestSupport

// SQLite backend benchmarks, each on a fresh database file in a temporary directory:
// - our uncontended acquire+release through the Locker protocol and through Lock;
// - the floor: a bare libsqlite3 loop running the same two transactions on the same kind of file;
// - 4 processes contending for one lock (this one, measured, plus 3 copies of this executable
//   started in child mode through LOCKHEED_SQLITE_BENCH_CHILD).

/// A fresh database file with the backend's schema, in WAL mode.
func freshDatabase() async throws -> String {
    let directory = NSTemporaryDirectory() + "lockheed-sqlite-bench-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let path = directory + "/locks.db"
    try await SQLiteLocker(path: path).shutdown()
    return path
}

/// The lock the contending processes share.
let contendedLock = "contended"

/// Child mode: loop acquire+release of ``contendedLock`` from the start file's appearance until
/// the stop file's, then write `CYCLES ERRORS` (errors other than "held": "database is locked",
/// timeouts) to the result file. The spec is `MODE|PATH|READY_FILE|START_FILE|STOP_FILE|RESULT`,
/// MODE `locker` (``SQLiteLocker``) or `bare` (the floor's statements on a bare connection).
/// Both loops retry a refused acquire at once.
func runContenderChild(_ spec: String) -> Never {
    let parts = spec.split(separator: "|").map(String.init)
    let (mode, path, ready, start, stop, result) = (parts[0], parts[1], parts[2], parts[3], parts[4], parts[5])
    let holder = "contender-\(getpid())"
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            var cycles = 0
            var errors = 0
            var attempts = 0
            func stopped() -> Bool {
                attempts += 1
                return attempts % 8 == 0 && FileManager.default.fileExists(atPath: stop)
            }
            func waitForStart() async throws {
                _ = FileManager.default.createFile(atPath: ready, contents: nil)
                while !FileManager.default.fileExists(atPath: start) { try await Task.sleep(for: .milliseconds(1)) }
            }
            if mode == "bare" {
                let database = try BareSQLite(path: path, holder: holder)
                try await waitForStart()
                while !stopped() {
                    do {
                        guard try database.acquire(now: Int64(Date().timeIntervalSince1970 * 1_000_000)) else {
                            continue
                        }
                        try database.release()
                        cycles += 1
                    } catch {
                        errors += 1
                    }
                }
            } else {
                let locker = try SQLiteLocker(path: path)
                let request = try AcquireRequest(name: LockName(contendedLock), holder: holder, duration: .seconds(30))
                try await waitForStart()
                while !stopped() {
                    do throws(LockheedError) {
                        _ = try await locker.acquire(request)
                        _ = try await locker.release(request.name, holder: holder)
                        cycles += 1
                    } catch  where !error.isBackendFailure && error.isTransient {
                        continue  // held by another process
                    } catch {
                        errors += 1
                    }
                }
                await locker.shutdown()
            }
            try "\(cycles) \(errors)".write(toFile: result, atomically: true, encoding: .utf8)
        } catch {
            FileHandle.standardError.write(Data("contender child failed: \(error)\n".utf8))
            exit(1)
        }
        done.signal()
    }
    done.wait()
    exit(0)
}

/// Runs `processes` contender children in `mode` on a fresh database for `duration`, and records
/// in `benchmark` the total cycles per second, the spread (the most cycles of one process
/// over the fewest, ×100) and the number of errors other than "held".
func contend(_ mode: String, processes: Int, for duration: Duration, _ benchmark: Benchmark) async throws {
    let path = try await freshDatabase()
    let directory = (path as NSString).deletingLastPathComponent
    let (start, stop) = (directory + "/start", directory + "/stop")
    let children = try (0..<processes).map { index in
        var environment = ProcessInfo.processInfo.environment
        environment["LOCKHEED_SQLITE_BENCH_CHILD"] =
            "\(mode)|\(path)|\(directory)/ready-\(index)|\(start)|\(stop)|\(directory)/result-\(index)"
        return try ChildProcess.spawn(
            executable: "/proc/self/exe", arguments: [], environment: environment,
            outputPath: directory + "/children.log")
    }
    let deadline = ContinuousClock.now + .seconds(30)
    while (0..<processes).contains(where: { !FileManager.default.fileExists(atPath: "\(directory)/ready-\($0)") }) {
        guard ContinuousClock.now < deadline else { throw LockheedError.timedOut("contender children never started") }
        try await Task.sleep(for: .milliseconds(10))
    }
    _ = FileManager.default.createFile(atPath: start, contents: nil)
    let started = ContinuousClock.now
    try await Task.sleep(for: duration)
    _ = FileManager.default.createFile(atPath: stop, contents: nil)
    var counts: [Int] = []
    var errors = 0
    for (index, child) in children.enumerated() {
        _ = await child.waitForExit()
        let fields = ((try? String(contentsOfFile: "\(directory)/result-\(index)", encoding: .utf8)) ?? "")
            .split(separator: " ").compactMap { Int($0) }
        counts.append(fields.first ?? 0)
        errors += fields.count > 1 ? fields[1] : 1
    }
    let elapsed = (ContinuousClock.now - started).timeInterval
    let total = Double(counts.reduce(0, +)) / elapsed
    let spread = Double(counts.max() ?? 0) / Double(max(counts.min() ?? 0, 1))
    benchmark.measurement(.custom("cycles per second, all processes", polarity: .prefersLarger), Int(total))
    benchmark.measurement(.custom("spread max/min x100"), Int(spread * 100))
    benchmark.measurement(.custom("errors other than held"), errors)
    FileHandle.standardError.write(
        Data(
            "contended \(mode): \(counts) cycles in \(elapsed) s, \(Int(total))/s, spread \(spread), errors \(errors)\n"
                .utf8))
    try? FileManager.default.removeItem(atPath: directory)
}

let benchmarks: @Sendable () -> Void = {
    if let spec = ProcessInfo.processInfo.environment["LOCKHEED_SQLITE_BENCH_CHILD"] {
        runContenderChild(spec)
    }
    // Wall clock is measured without allocation counting: package-benchmark's counting interposer
    // adds about 0.4 µs to every counted allocation, which would bill a figure for its own
    // measurement. Allocations are counted in a twin run of the same loop (", allocations").
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(3))
    let allocations = Benchmark.Configuration(
        metrics: [.mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(1))

    // Ours: one uncontended acquire + release through the Locker protocol (two transactions).
    for (suffix, configuration) in [("", Benchmark.defaultConfiguration), (", allocations", allocations)] {
        Benchmark("sqlite: locker acquire+release (uncontended)\(suffix)", configuration: configuration) { benchmark in
            let locker = try SQLiteLocker(path: try await freshDatabase())
            let request = try AcquireRequest(name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                _ = try await locker.acquire(request)
                _ = try await locker.release(request.name, holder: request.holder)
            }
            benchmark.stopMeasurement()
            await locker.shutdown()
        }
    }

    // The floor: the same two transactions on a bare libsqlite3 connection, no Swift layer.
    Benchmark("sqlite: bare libsqlite3 floor, same two transactions") { benchmark in
        let database = try BareSQLite(path: try await freshDatabase())
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try database.acquire(now: Int64(Date().timeIntervalSince1970 * 1_000_000))
            try database.release()
        }
        // Closing (a WAL checkpoint) is not part of the cycles, as for ours.
        benchmark.stopMeasurement()
    }

    // Ours against the floor in alternating batches (the ratio the thresholds judge).
    Benchmark("sqlite: locker / floor, interleaved", configuration: interleavedConfiguration()) { benchmark in
        let locker = try SQLiteLocker(path: try await freshDatabase())
        let database = try BareSQLite(path: try await freshDatabase())
        try await recordInterleavedRatio(benchmark, locker: locker, cycles: 250) {
            try database.acquire(now: Int64(Date().timeIntervalSince1970 * 1_000_000))
            try database.release()
        }
        await locker.shutdown()
    }

    // The full handle: Lock.acquire + release, with events, metrics and validation (no keep-alive).
    Benchmark("sqlite: Lock acquire+release (uncontended)") { benchmark in
        let locker = try SQLiteLocker(path: try await freshDatabase())
        let lock = try Lock("bench", locker: locker).keepAlive(false)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await lock.acquire()
            try await lock.release()
        }
        benchmark.stopMeasurement()
        await locker.shutdown()
    }

    // Contended: 4 processes looping acquire+release on one lock (a refused acquire is retried at
    // once), through SQLiteLocker and through the floor's bare statements, one after the other.
    let contended = Benchmark.Configuration(
        metrics: [
            .custom("cycles per second, all processes", polarity: .prefersLarger), .custom("spread max/min x100"),
            .custom("errors other than held"),
        ], scalingFactor: .one, maxDuration: .seconds(30), maxIterations: 3)
    Benchmark("sqlite: 4 processes contending, locker", configuration: contended) { benchmark in
        try await contend("locker", processes: 4, for: .seconds(2), benchmark)
    }
    Benchmark("sqlite: 4 processes contending, bare libsqlite3 floor", configuration: contended) { benchmark in
        try await contend("bare", processes: 4, for: .seconds(2), benchmark)
    }
}
