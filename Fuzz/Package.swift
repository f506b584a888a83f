// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parsers and decoders that read text from people and from stores other
// programs write. Its own package, depending on the root by path, so the main build never sees
// the sanitizer. Build and run through scripts/fuzz (it passes -sanitize=fuzzer,address);
// CONTRIBUTING.md explains.
//
// The files under test are symlinked into each target rather than imported, so a target builds
// only LockheedCore and what it tests (not the umbrella's NIO and TLS dependencies) and sees the
// files' internal types. The Redis target imports LockheedRedis with @testable (debug build).

let lockheed = "Lockheed"
let core = Target.Dependency.product(name: "LockheedCore", package: lockheed)

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = [core]) -> Target {
    .executableTarget(
        name: name,
        dependencies: dependencies + ["FuzzDriver"],
        path: "Sources/\(name)",
        swiftSettings: [
            .enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility"),
            // No top-level code: the entry point is the @_cdecl("<Module>_main") function.
            .unsafeFlags(["-parse-as-library"]),
        ]
    )
}

let package = Package(
    name: "LockheedFuzz",
    dependencies: [.package(name: lockheed, path: "..")],
    targets: [
        // Starts libFuzzer from each target's entry point (see FuzzDriver.h).
        .target(name: "FuzzDriver"),
        fuzzTarget("FuzzConditionText"),
        fuzzTarget("FuzzConditionJSON"),
        fuzzTarget("FuzzBackendURL"),
        fuzzTarget("FuzzDuration"),
        fuzzTarget("FuzzKubernetesRecord"),
        fuzzTarget("FuzzRFC3339"),
        fuzzTarget("FuzzRedisReplies", [core, .product(name: "LockheedRedis", package: lockheed)]),
    ]
)
