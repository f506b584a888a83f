import Foundation
import KubernetesAPIDouble
import Lockheed
import LockheedConformance
import LockheedTestSupport
import Testing

/// An unreachable or failing backend is not a held lock: acquiring retries it for
/// `backendTimeout`, then throws `.unavailable`, even when waiting for a held lock is unlimited.
@Suite("Failing backends are retried for a bounded time", .timeSensitive)
struct FailingBackendTests {
    @Test("Redis on a closed port")
    func redisClosedPort() async throws {
        let port = freeLoopbackPort()
        let locker = try BackendConfiguration(url: "redis://127.0.0.1:\(port)/0?timeout=500ms").makeLocker()
        try await expectBounded(locker)
        await locker.shutdown()
    }

    @Test("Kubernetes API server answering 503")
    func kubernetes503() async throws {
        let double = try await KubernetesAPIServerDouble.start()
        double.createNamespace("failing")
        double.inject(.status(503, retryAfterSeconds: nil), on: .any, times: 100_000)
        let directory = try TemporaryDirectory()
        let kubeconfig = try directory.writeKubeconfig(server: double.baseURL, namespace: "failing")
        let locker = try BackendConfiguration(url: "kubernetes://failing?kubeconfig=\(kubeconfig)").makeLocker()
        try await expectBounded(locker)
        await locker.shutdown()
        try await double.shutdown()
    }

    @Test("lockheed exec on an unreachable Redis says what fails, then exits 69 after --backend-timeout")
    func execOnUnreachableBackend() async throws {
        let directory = try TemporaryDirectory()
        let backend = "redis://127.0.0.1:\(freeLoopbackPort())/0?timeout=500ms"
        for wait in [[], ["--wait"], ["--no-wait"]] {
            let start = ContinuousClock.now
            let finished = try await CLIProcess.run(
                ["exec", "--backend", backend, "--backend-timeout", "2s"] + wait + ["job", "--", "true"],
                in: directory.url, timeout: .seconds(60))
            let elapsed = ContinuousClock.now - start
            #expect(finished.status == 69, "\(wait): exit \(finished.status), stderr: \(finished.stderr)")
            #expect(elapsed >= .milliseconds(1500) && elapsed < .seconds(30), "\(wait): exited after \(elapsed)")
            #expect(finished.stderr.contains("retrying"), "\(wait): stderr: \(finished.stderr)")
        }
    }

    private func expectBounded(_ locker: any Locker, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for policy in [RetryPolicy.none, .wait(upTo: nil)] {
            let lock = try Lock("down", locker: locker).retry(policy).configure { $0.backendTimeout = .seconds(2) }
            let start = ContinuousClock.now
            let error = await #expect(throws: LockheedError.self, sourceLocation: sourceLocation) {
                try await lock.acquire()
            }
            let elapsed = ContinuousClock.now - start
            guard error?.code == .unavailable else {
                Issue.record("expected .unavailable, got \(String(describing: error))", sourceLocation: sourceLocation)
                continue
            }
            #expect(elapsed >= .milliseconds(1500), "gave up after \(elapsed)", sourceLocation: sourceLocation)
            #expect(elapsed < .seconds(30), "gave up after \(elapsed)", sourceLocation: sourceLocation)
        }
    }
}
