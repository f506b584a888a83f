// swift-tools-version: 6.1
import PackageDescription

// Lockheed: a distributed-locking framework. The core knows no backend; each backend is
// its own library product under Backends/, and every backend runs the one conformance suite.

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let log = Target.Dependency.product(name: "Logging", package: "swift-log")
let metrics = Target.Dependency.product(name: "Metrics", package: "swift-metrics")

let package = Package(
    name: "Lockheed",
    products: [
        .library(name: "LockheedCore", targets: ["LockheedCore"]),
        .library(name: "LockheedMemory", targets: ["LockheedMemory"]),
        .library(name: "LockheedSQLite", targets: ["LockheedSQLite"]),
        .library(name: "LockheedRedis", targets: ["LockheedRedis"]),
        .library(name: "LockheedKubernetes", targets: ["LockheedKubernetes"]),
        .library(name: "LockheedPostgres", targets: ["LockheedPostgres"]),
        .library(name: "Lockheed", targets: ["Lockheed"]),
        .library(name: "LockheedConformance", targets: ["LockheedConformance"]),
        .library(name: "LockheedTestSupport", targets: ["LockheedTestSupport"]),
        .library(name: "LockheedLeaderElection", targets: ["LockheedLeaderElection"]),
        // Testing products (Hummingbird's style): the Kubernetes API-server double for users' own
        // tests, and throwaway redis-server and PostgreSQL servers.
        .library(name: "LockheedKubernetesTesting", targets: ["KubernetesAPIDouble"]),
        .library(name: "LockheedRedisTesting", targets: ["LockheedRedisTesting"]),
        .library(name: "LockheedPostgresTesting", targets: ["LockheedPostgresTesting"]),
        .executable(name: "lockheed", targets: ["LockheedCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.7.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // MARK: Core and the conformance suite
        .target(name: "LockheedCore", dependencies: [log, metrics], swiftSettings: strict),
        // Child processes and free ports for tests and benchmarks; no Testing, so a backend's own
        // test server (RedisTestServer) can use it too.
        .target(name: "LockheedTestSupport", swiftSettings: strict),
        .target(
            name: "LockheedConformance",
            dependencies: ["LockheedCore", "LockheedTestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedCoreTests",
            dependencies: [
                "LockheedCore", "LockheedConformance", "LockheedMemory",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),

        // MARK: In-memory backend
        .target(
            name: "LockheedMemory",
            dependencies: ["LockheedCore"],
            path: "Backends/Memory/Sources/LockheedMemory",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedMemoryTests",
            dependencies: ["LockheedMemory", "LockheedConformance"],
            path: "Backends/Memory/Tests/LockheedMemoryTests",
            swiftSettings: strict
        ),

        // MARK: SQLite backend
        .systemLibrary(
            name: "CSQLite",
            path: "Backends/SQLite/Sources/CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "LockheedSQLite",
            dependencies: ["LockheedCore", "CSQLite", log, .product(name: "NIOPosix", package: "swift-nio")],
            path: "Backends/SQLite/Sources/LockheedSQLite",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SQLiteContender",
            dependencies: ["LockheedSQLite", "LockheedConformance"],
            path: "Backends/SQLite/Tests/SQLiteContender",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedSQLiteTests",
            dependencies: [
                "LockheedSQLite", "LockheedConformance", "LockheedTestSupport", "CSQLite", "SQLiteContender",
            ],
            path: "Backends/SQLite/Tests/LockheedSQLiteTests",
            swiftSettings: strict
        ),

        // MARK: Redis backend
        .systemLibrary(
            name: "CHiredis",
            path: "Backends/Redis/Sources/CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "LockheedRedis",
            dependencies: ["LockheedCore", "CHiredis", log, .product(name: "Crypto", package: "swift-crypto")],
            path: "Backends/Redis/Sources/LockheedRedis",
            swiftSettings: strict
        ),
        .target(
            name: "LockheedRedisTesting",
            dependencies: ["LockheedRedis", "LockheedCore", "CHiredis", "LockheedTestSupport"],
            path: "Backends/Redis/Sources/LockheedRedisTesting",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "RedisContender",
            dependencies: ["LockheedRedis", "LockheedConformance"],
            path: "Backends/Redis/Tests/RedisContender",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedRedisTests",
            dependencies: [
                "LockheedRedis", "LockheedRedisTesting", "LockheedConformance", "LockheedTestSupport", "RedisContender",
            ],
            path: "Backends/Redis/Tests/LockheedRedisTests",
            swiftSettings: strict
        ),

        // MARK: Kubernetes backend
        .target(
            name: "LockheedKubernetes",
            dependencies: [
                "LockheedCore", log,
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Backends/Kubernetes/Sources/LockheedKubernetes",
            swiftSettings: strict
        ),
        .target(
            name: "KubernetesAPIDouble",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Backends/Kubernetes/Sources/KubernetesAPIDouble",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedKubernetesTests",
            dependencies: [
                "LockheedKubernetes", "KubernetesAPIDouble", "LockheedConformance",
                .product(name: "Yams", package: "Yams"), .product(name: "Logging", package: "swift-log"),
            ],
            path: "Backends/Kubernetes/Tests/LockheedKubernetesTests",
            swiftSettings: strict
        ),

        // MARK: PostgreSQL backend
        .target(
            name: "LockheedPostgres",
            dependencies: [
                "LockheedCore", log,
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Backends/Postgres/Sources/LockheedPostgres",
            swiftSettings: strict
        ),
        .target(
            name: "LockheedPostgresTesting",
            dependencies: [
                "LockheedPostgres", "LockheedCore", "LockheedTestSupport", log,
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Backends/Postgres/Sources/LockheedPostgresTesting",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "PostgresContender",
            dependencies: ["LockheedPostgres", "LockheedConformance"],
            path: "Backends/Postgres/Tests/PostgresContender",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedPostgresTests",
            dependencies: [
                "LockheedPostgres", "LockheedPostgresTesting", "LockheedConformance", "LockheedTestSupport",
                "PostgresContender",
            ],
            path: "Backends/Postgres/Tests/LockheedPostgresTests",
            swiftSettings: strict
        ),

        // MARK: Umbrella (backend selection by URL) and the `lockheed` command
        .target(
            name: "Lockheed",
            dependencies: [
                "LockheedCore", "LockheedMemory", "LockheedSQLite", "LockheedRedis",
                "LockheedKubernetes", "LockheedPostgres",
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "LockheedCLI",
            dependencies: [
                "Lockheed", log,
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedCLITests",
            dependencies: [
                "Lockheed", "LockheedConformance", "LockheedTestSupport", "LockheedRedis", "LockheedRedisTesting",
                "KubernetesAPIDouble", "LockheedCLI", "LockheedPostgres", "LockheedPostgresTesting",
            ],
            swiftSettings: strict
        ),

        // MARK: Leader election (a swift-service-lifecycle Service on any backend) and its example
        .target(
            name: "LockheedLeaderElection",
            dependencies: [
                "LockheedCore", log, metrics,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "LeaderElectedJob",
            dependencies: [
                "Lockheed", "LockheedLeaderElection", log,
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Examples/LeaderElectedJob",
            swiftSettings: strict
        ),
        .testTarget(
            name: "LockheedLeaderElectionTests",
            dependencies: [
                "LockheedLeaderElection", "Lockheed", "LockheedConformance", "LockheedMemory", "LockheedTestSupport",
                "LockheedRedis",
                "LockheedRedisTesting",
                "KubernetesAPIDouble", log,
                "LeaderElectedJob",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: strict
        ),
    ]
)
