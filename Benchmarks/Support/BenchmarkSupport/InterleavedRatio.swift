import Benchmark
import LockheedCore

/// The ratio of ours to a floor as one sample per call, ×100: `rounds` alternating batches of
/// `cycles` cycles each (ours, then the floor), the ratio of the two batches' total times.
///
/// package-benchmark measures one benchmark after another, each for a few seconds; on a shared
/// machine whose speed drifts over seconds, the ratio of two such figures moves by ±25 %.
/// Batches milliseconds apart see the same machine, so their ratio is steady.
public func recordInterleavedRatio(
    _ benchmark: Benchmark, metric: BenchmarkMetric, rounds: Int = 4, cycles: Int,
    ours: () async throws -> Void, floor: () async throws -> Void
) async throws {
    var (oursTime, floorTime) = (Duration.zero, Duration.zero)
    let clock = ContinuousClock()
    for _ in 0..<rounds {
        oursTime += try await clock.measure { for _ in 0..<cycles { try await ours() } }
        floorTime += try await clock.measure { for _ in 0..<cycles { try await floor() } }
    }
    benchmark.measurement(metric, Int((oursTime / floorTime * 100).rounded()))
}

/// The metric of ``recordInterleavedRatio(_:metric:rounds:cycles:ours:floor:)``.
public let interleavedRatioMetric = BenchmarkMetric.custom(
    "ours / floor x100, interleaved", polarity: .prefersSmaller, useScalingFactor: false)

/// A configuration for an interleaved ratio: up to `samples` samples within `seconds`.
public func interleavedConfiguration(samples: Int = 40, seconds: Int = 20) -> Benchmark.Configuration {
    .init(
        metrics: [interleavedRatioMetric], warmupIterations: 1, scalingFactor: .one,
        maxDuration: .seconds(seconds), maxIterations: samples)
}

/// ``recordInterleavedRatio(_:metric:rounds:cycles:ours:floor:)`` where ours is one uncontended
/// acquire + release of the lock `bench` through `locker`.
public func recordInterleavedRatio(
    _ benchmark: Benchmark, locker: some Locker, cycles: Int, floor: () async throws -> Void
) async throws {
    let request = try AcquireRequest(name: LockName("bench"), holder: "bench-holder", duration: .seconds(30))
    try await recordInterleavedRatio(
        benchmark, metric: interleavedRatioMetric, cycles: cycles,
        ours: {
            _ = try await locker.acquire(request)
            _ = try await locker.release(request.name, holder: request.holder)
        }, floor: floor)
}
