import Benchmark
import KubernetesAPIDouble
import LockheedCore
import LockheedKubernetes

/// A double on loopback and lockers on it, for one benchmark.
struct Bench {
    let server: KubernetesAPIServerDouble
    let configuration: KubernetesConfiguration

    static func start() async throws -> Bench {
        let server = try await KubernetesAPIServerDouble.start()
        server.createNamespace("bench")
        return Bench(
            server: server,
            configuration: KubernetesConfiguration(
                server: server.baseURL, namespace: "bench", authentication: .bearerToken("test-token")))
    }

    func locker() throws -> KubernetesLocker { try KubernetesLocker(configuration: configuration) }
}

let requestsPerCycle = BenchmarkMetric.custom(
    "API requests per cycle", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    // Wall clock is measured without allocation counting: package-benchmark's counting interposer
    // adds about 0.4 µs to every counted allocation, which would bill a figure for its own
    // measurement. Allocations are counted in a twin run of the same loop (", allocations").
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, requestsPerCycle], maxDuration: .seconds(3), maxIterations: 2000)
    let allocations = Benchmark.Configuration(
        metrics: [.mallocCountTotal, requestsPerCycle], maxDuration: .seconds(1), maxIterations: 500)

    // One holder's full cycle on an existing lock: acquire (GET + PUT), renew (PUT), release (PUT).
    for (suffix, configuration) in [("", Benchmark.defaultConfiguration), (", allocations", allocations)] {
        Benchmark(
            "kubernetes: acquire+renew+release (existing lock, one locker)\(suffix)", configuration: configuration
        ) { benchmark in
            let bench = try await Bench.start()
            let locker = try bench.locker()
            let name = try LockName("bench")
            let request = try AcquireRequest(name: name, holder: "holder-a", duration: .seconds(30))
            _ = try await locker.acquire(request)
            _ = try await locker.release(name, holder: "holder-a")
            bench.server.resetCounters()
            var cycles = 0
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                _ = try await locker.acquire(request)
                _ = try await locker.renew(name, holder: "holder-a", duration: .seconds(30))
                _ = try await locker.release(name, holder: "holder-a")
                cycles += 1
            }
            benchmark.stopMeasurement()
            benchmark.measurement(requestsPerCycle, bench.server.requestCount() / max(cycles, 1))
            await locker.shutdown()
            try await bench.server.shutdown()
        }
    }

    // Two programs handing one lock back and forth: each cycle is A acquire+release, B acquire+release.
    Benchmark("kubernetes: handoff between two lockers (2 acquires + 2 releases)") { benchmark in
        let bench = try await Bench.start()
        let a = try bench.locker()
        let b = try bench.locker()
        let name = try LockName("handoff")
        let requestA = try AcquireRequest(name: name, holder: "holder-a", duration: .seconds(30))
        let requestB = try AcquireRequest(name: name, holder: "holder-b", duration: .seconds(30))
        _ = try await a.acquire(requestA)
        _ = try await a.release(name, holder: "holder-a")
        bench.server.resetCounters()
        var cycles = 0
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            _ = try await a.acquire(requestA)
            _ = try await a.release(name, holder: "holder-a")
            _ = try await b.acquire(requestB)
            _ = try await b.release(name, holder: "holder-b")
            cycles += 1
        }
        benchmark.stopMeasurement()
        benchmark.measurement(requestsPerCycle, bench.server.requestCount() / max(cycles, 1))
        await a.shutdown()
        await b.shutdown()
        try await bench.server.shutdown()
    }
}
