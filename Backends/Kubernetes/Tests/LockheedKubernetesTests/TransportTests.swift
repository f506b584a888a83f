import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("TLS and watches", .timeSensitive)
struct TransportTests {
    @Test func tokenAndClientCertificateOverTLS() async throws {
        let material = try KubernetesAPIServerDouble.TLS.generateForTests()
        let server = try await KubernetesAPIServerDouble.start(tls: material.tls)
        defer { Task { try? await server.shutdown() } }
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        #expect(server.baseURL.hasPrefix("https://"))
        let trust = KubernetesConfiguration.TLSOptions(certificateAuthorityPEM: Array(material.caPEM.utf8))
        let withToken = try KubernetesLocker(
            configuration: KubernetesConfiguration(
                server: server.baseURL, namespace: namespace, authentication: .bearerToken("test-token"), tls: trust))
        _ = try await withToken.acquire(acquireRequest("tls", "token-holder"))

        var mutual = trust
        mutual.clientCertificatePEM = Array(material.clientCertPEM.utf8)
        mutual.clientKeyPEM = Array(material.clientKeyPEM.utf8)
        let withCertificate = try KubernetesLocker(
            configuration: KubernetesConfiguration(server: server.baseURL, namespace: namespace, tls: mutual))
        let state = try await withCertificate.state(of: LockName("tls"))
        #expect(state?.leases.map(\.holder) == ["token-holder"])

        let untrusting = try KubernetesLocker(
            configuration: KubernetesConfiguration(
                server: server.baseURL, namespace: namespace, authentication: .bearerToken("test-token")))
        let error = await #expect(throws: LockheedError.self) { try await untrusting.state(of: LockName("tls")) }
        guard error?.code == .unavailable else {
            Issue.record("an untrusted server certificate must fail, got \(String(describing: error))")
            return
        }
        for locker in [withToken, withCertificate, untrusting] { await locker.shutdown() }
    }

    @Test func waitForChangeWakesOnAnotherLockersReleaseByWatch() async throws {
        let setup = try await FaultSetup()
        let holder = try setup.locker()
        let waiter = try setup.locker()
        let name = try LockName("watched")
        _ = try await holder.acquire(acquireRequest("watched", "a"))
        await #expect(throws: LockheedError.self) { try await waiter.acquire(acquireRequest("watched", "b")) }
        let release = Task {
            try await Task.sleep(for: .milliseconds(300))
            _ = try await holder.release(name, holder: "a")
        }
        let start = ContinuousClock.now
        try await waiter.waitForChange(of: name, timeout: .seconds(10))
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(setup.server.requestCount("WATCH") >= 1)
        try await release.value
        _ = try await waiter.acquire(acquireRequest("watched", "b"))
        await setup.finish(holder, waiter)
    }

    @Test func waitForChangeReListsAfterGone() async throws {
        let setup = try await FaultSetup()
        let holder = try setup.locker()
        let waiter = try setup.locker()
        let name = try LockName("gone")
        _ = try await holder.acquire(acquireRequest("gone", "a"))
        _ = try await waiter.state(of: name)  // caches the current version
        _ = try await holder.release(name, holder: "a")
        setup.server.compactHistory()  // the waiter's version is now too old to watch from
        let start = ContinuousClock.now
        try await waiter.waitForChange(of: name, timeout: .seconds(10))
        #expect(ContinuousClock.now - start < .seconds(3), "410 Gone re-lists and sees the change")
        await setup.finish(holder, waiter)
    }

    @Test func waitForChangeFallsBackToPolling() async throws {
        let setup = try await FaultSetup()
        let holder = try setup.locker()
        let waiter = try setup.locker()
        let name = try LockName("polled")
        _ = try await holder.acquire(acquireRequest("polled", "a"))
        _ = try await waiter.state(of: name)
        setup.server.inject(.status(500, retryAfterSeconds: nil), on: .verb("WATCH"), times: 100)
        let release = Task {
            try await Task.sleep(for: .milliseconds(400))
            _ = try await holder.release(name, holder: "a")
        }
        let start = ContinuousClock.now
        try await waiter.waitForChange(of: name, timeout: .seconds(10))
        #expect(ContinuousClock.now - start < .seconds(3))
        try await release.value
        await setup.finish(holder, waiter)
    }

    @Test func waitForChangeReturnsWhenTheHeldLeaseExpires() async throws {
        let setup = try await FaultSetup()
        let holder = try setup.locker()
        let waiter = try setup.locker()
        _ = try await holder.acquire(acquireRequest("expiring", "a", duration: .milliseconds(1500)))
        await #expect(throws: LockheedError.self) { try await waiter.acquire(acquireRequest("expiring", "b")) }
        let start = ContinuousClock.now
        try await waiter.waitForChange(of: LockName("expiring"), timeout: .seconds(10))
        #expect(ContinuousClock.now - start < .seconds(4), "woken by the expiry, not the 10 s timeout")
        _ = try await waiter.acquire(acquireRequest("expiring", "b"))
        await setup.finish(holder, waiter)
    }

    @Test func listPaginates() async throws {
        let setup = try await FaultSetup()
        let locker = try setup.locker()
        for index in 0..<7 { _ = try await locker.acquire(acquireRequest("page-\(index)", "a")) }
        setup.server.resetCounters()
        let objects = try await locker.listObjects(query: [("labelSelector", "lockheed/lock")], pageSize: 3)
        #expect(objects.count == 7)
        #expect(setup.server.requestCount("LIST") == 3)
        #expect(try await locker.list(matching: .heldBy("a")).count == 7)
        await setup.finish(locker)
    }
}
