import Foundation
import LockheedConformance
import LockheedKubernetes
import Testing

/// The whole conformance suite with locks in `coordination.k8s.io/v1` Leases, on the double.
/// Serialized for the same reason as the ConfigMap run. The shared-lock cases are skipped (a
/// Lease has one holder; the capability flags say so).
@Suite("KubernetesLease conformance against the API-server double", .serialized, .timeSensitive)
struct KubernetesLeaseConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(on: try await KubernetesFixture(kind: .lease))
    }
}

/// The real-cluster run for Leases: set `LOCKHEED_TEST_KUBECONFIG` (and optionally
/// `LOCKHEED_TEST_NAMESPACE`); the credentials need the `leases` verbs of the README's Role.
@Suite(
    "KubernetesLease conformance against a real cluster", .serialized,
    .enabled(
        if: ProcessInfo.processInfo.environment["LOCKHEED_TEST_KUBECONFIG"] != nil,
        "set LOCKHEED_TEST_KUBECONFIG (and optionally LOCKHEED_TEST_NAMESPACE) to run against a real cluster"),
    .timeSensitive)
struct KubernetesLeaseClusterConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        let environment = ProcessInfo.processInfo.environment
        let path = try #require(environment["LOCKHEED_TEST_KUBECONFIG"])
        try await testCase.run(
            on: try KubernetesFixture(
                clusterKubeconfig: path, namespace: environment["LOCKHEED_TEST_NAMESPACE"], kind: .lease))
    }
}
