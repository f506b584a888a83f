// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the library never depends on package-benchmark.
// Run from this folder: swift package --disable-sandbox benchmark

func benchmark(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "benchmark"), "BenchmarkSupport"] + dependencies,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let lockheed = "Lockheed"

let package = Package(
    name: "LockheedBenchmarks",
    dependencies: [
        .package(name: "Lockheed", path: ".."),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // What several benchmark targets share (the interleaved ratio against a floor).
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"), .product(name: "LockheedCore", package: lockheed),
            ],
            path: "Support/BenchmarkSupport"),
        benchmark(
            "MemoryBenchmarks",
            [
                .product(name: "LockheedCore", package: lockheed),
                .product(name: "LockheedMemory", package: lockheed),
            ]),
        benchmark(
            "SQLiteBenchmarks",
            [
                .product(name: "LockheedCore", package: lockheed),
                .product(name: "LockheedSQLite", package: lockheed),
                .product(name: "LockheedConformance", package: lockheed),
                .product(name: "LockheedTestSupport", package: lockheed),
            ]),
        benchmark(
            "RedisBenchmarks",
            [
                .product(name: "LockheedCore", package: lockheed),
                .product(name: "LockheedRedis", package: lockheed),
                .product(name: "LockheedRedisTesting", package: lockheed),
                .product(name: "LockheedConformance", package: lockheed),
                .product(name: "LockheedTestSupport", package: lockheed),
            ]),
        benchmark(
            "PostgresBenchmarks",
            [
                .product(name: "LockheedCore", package: lockheed),
                .product(name: "LockheedPostgres", package: lockheed),
                .product(name: "LockheedPostgresTesting", package: lockheed),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
        benchmark(
            "KubernetesBenchmarks",
            [
                .product(name: "LockheedCore", package: lockheed),
                .product(name: "LockheedKubernetes", package: lockheed),
                .product(name: "LockheedKubernetesTesting", package: lockheed),
            ]),
    ]
)
