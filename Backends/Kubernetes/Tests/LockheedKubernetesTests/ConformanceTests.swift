import Foundation
import LockheedConformance
import Testing

/// Serialized: the timing cases (short leases, keep-alive) must not compete with 30 other cases
/// for this 2-core machine.
@Suite("conformance against the API-server double", .serialized, .timeSensitive)
struct DoubleConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(on: try await KubernetesFixture())
    }
}

/// The real-cluster run: set `LOCKHEED_TEST_KUBECONFIG` (and optionally `LOCKHEED_TEST_NAMESPACE`).
/// Without it the suite is skipped, and Swift Testing shows the skip with the comment below.
@Suite(
    "conformance against a real cluster", .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["LOCKHEED_TEST_KUBECONFIG"] != nil,
        "set LOCKHEED_TEST_KUBECONFIG (and optionally LOCKHEED_TEST_NAMESPACE) to run against a real cluster"),
    .timeSensitive)
struct ClusterConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = try #require(environment["LOCKHEED_TEST_KUBECONFIG"])
        try await testCase.run(
            on: try KubernetesFixture(clusterKubeconfig: path, namespace: environment["LOCKHEED_TEST_NAMESPACE"]))
    }
}
