import Benchmark
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

/// The retry policy contenders use: short waits with jitter, since releases are microseconds apart.
let contenderRetry = RetryPolicy(
    maxAttempts: nil, initialDelay: .microseconds(500), maxDelay: .milliseconds(4), jitter: 0.5)

/// Child mode: loop acquire+release on the lock until the stop file appears, then write the
/// number of cycles. The spec is `PATH|LOCK|READY_FILE|STOP_FILE|COUNT_FILE`.
func runContenderChild(_ spec: String) -> Never {
    let parts = spec.split(separator: "|").map(String.init)
    let done = DispatchSemaphore(value: 0)
    Task {
        do {
            let locker = try SQLiteLocker(path: parts[0])
            let lock = try Lock(parts[1], locker: locker).keepAlive(false).retry(contenderRetry)
            _ = FileManager.default.createFile(atPath: parts[2], contents: nil)
            var cycles = 0
            while !FileManager.default.fileExists(atPath: parts[3]) {
                try await lock.acquire()
                try await lock.release()
                cycles += 1
            }
            try "\(cycles)".write(toFile: parts[4], atomically: true, encoding: .utf8)
            await locker.shutdown()
        } catch {
            FileHandle.standardError.write(Data("contender child failed: \(error)\n".utf8))
            exit(1)
        }
        done.signal()
    }
    done.wait()
    exit(0)
}

let benchmarks: @Sendable () -> Void = {
    if let spec = ProcessInfo.processInfo.environment["LOCKHEED_SQLITE_BENCH_CHILD"] {
        runContenderChild(spec)
    }
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(3))

    // Ours: one uncontended acquire + release through the Locker protocol (two transactions).
    Benchmark("sqlite: locker acquire+release (uncontended)") { benchmark in
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

    // The floor: the same two transactions on a bare libsqlite3 connection, no Swift layer.
    Benchmark("sqlite: bare libsqlite3 floor, same two transactions") { benchmark in
        let database = try BareSQLite(path: try await freshDatabase())
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try database.acquire(now: Int64(Date().timeIntervalSince1970 * 1_000_000))
            try database.release()
        }
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

    // Contended: this process's cycles while 3 other processes loop on the same lock.
    Benchmark(
        "sqlite: Lock acquire+release, 4 processes contending (this process's cycles)",
        configuration: .init(
            metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(10), maxIterations: 3)
    ) { benchmark in
        let path = try await freshDatabase()
        let directory = (path as NSString).deletingLastPathComponent
        let stop = directory + "/stop"
        let children = try (0..<3).map { index in
            var environment = ProcessInfo.processInfo.environment
            environment["LOCKHEED_SQLITE_BENCH_CHILD"] =
                "\(path)|contended|\(directory)/ready-\(index)|\(stop)|\(directory)/count-\(index)"
            return try ChildProcess.spawn(
                executable: "/proc/self/exe", arguments: [], environment: environment,
                outputPath: directory + "/children.log")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while (0..<3).contains(where: { !FileManager.default.fileExists(atPath: "\(directory)/ready-\($0)") }) {
            guard ContinuousClock.now < deadline else {
                throw LockheedError.timedOut("contender children never started")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let locker = try SQLiteLocker(path: path)
        let lock = try Lock("contended", locker: locker).keepAlive(false).retry(contenderRetry)
        let started = ContinuousClock.now
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await lock.acquire()
            try await lock.release()
        }
        benchmark.stopMeasurement()
        let elapsed = ContinuousClock.now - started
        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        var others = 0
        for (index, child) in children.enumerated() {
            _ = await child.waitForExit()
            others += Int((try? String(contentsOfFile: "\(directory)/count-\(index)", encoding: .utf8)) ?? "") ?? 0
        }
        await locker.shutdown()
        let total = Double(benchmark.scaledIterations.count + others) / elapsed.timeInterval
        FileHandle.standardError.write(
            Data(
                "contended: this process \(benchmark.scaledIterations.count) cycles, the other 3 processes \(others), in \(elapsed): ~\(Int(total)) cycles/s in all\n"
                    .utf8))
        try? FileManager.default.removeItem(atPath: directory)
    }
}
