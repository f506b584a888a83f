import Benchmark
import LockheedCore
import LockheedMemory

let benchmarks: @Sendable () -> Void = {
    // A cycle takes about a microsecond, less than the harness's own work per sample (reading
    // the clock and the allocator's counters): each sample runs 1000 cycles, and the figures are
    // per cycle.
    //
    // Wall clock is measured without allocation counting: package-benchmark's counting interposer
    // adds about 0.4 µs to every counted allocation, which would bill a figure for its own
    // measurement. Allocations are counted in a twin run of the same loop (", allocations").
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput], scalingFactor: .kilo, maxDuration: .seconds(3))
    let allocations = Benchmark.Configuration(
        metrics: [.mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(1))

    // The backend alone: one uncontended acquire + release through the Locker protocol.
    for (suffix, configuration) in [("", Benchmark.defaultConfiguration), (", allocations", allocations)] {
        Benchmark("memory: locker acquire+release (uncontended)\(suffix)", configuration: configuration) { benchmark in
            let locker = MemoryLocker()
            let request = try AcquireRequest(name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                _ = try await locker.acquire(request)
                _ = try await locker.release(request.name, holder: request.holder)
            }
        }
    }

    // The full handle: Lock.acquire + release, with events, metrics and validation (no keep-alive).
    Benchmark("memory: Lock acquire+release (uncontended)") { benchmark in
        let lock = try Lock("bench", locker: MemoryLocker()).keepAlive(false)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            try await lock.acquire()
            try await lock.release()
        }
    }
}
