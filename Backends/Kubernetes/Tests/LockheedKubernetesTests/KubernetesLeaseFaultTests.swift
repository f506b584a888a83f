import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Synchronization
import Testing

@testable import LockheedKubernetes

/// The ConfigMap storage's fault cases, on Leases (a private double per test).
@Suite("KubernetesLease injected faults", .timeSensitive)
struct KubernetesLeaseFaultTests {
    @Test func serverErrorsDroppedConnectionsAndTimeoutsAreRetried() async throws {
        var setup = try await FaultSetup(kind: .lease)
        setup.configuration.requestTimeout = .milliseconds(300)
        let locker = try setup.locker()
        setup.server.inject(.status(500, retryAfterSeconds: nil), on: .verb("GET"), times: 2)
        setup.server.inject(.status(503, retryAfterSeconds: nil), on: .verb("POST"), times: 1)
        _ = try await locker.acquire(acquireRequest("flaky", "a"))
        #expect(setup.server.requestCount("GET", resource: .leases) == 3)
        #expect(setup.server.requestCount("POST", resource: .leases) == 2)
        setup.server.inject(.dropConnection, on: .verb("PUT"), times: 1)
        _ = try await locker.renew(LockName("flaky"), holder: "a", duration: .seconds(30))
        setup.server.inject(.latency(.seconds(2)), on: .verb("PUT"), times: 1)
        let renewed = try await locker.renew(LockName("flaky"), holder: "a", duration: .seconds(30))
        #expect(renewed.holder == "a")
        #expect(try await locker.state(of: LockName("flaky"))?.leases.map(\.holder) == ["a"])
        await setup.finish(locker)
    }

    @Test func aConflictStormIsRetriedWithinItsBoundThenUnavailable() async throws {
        var setup = try await FaultSetup(kind: .lease)
        try await setup.stormConflicts()
    }

    @Test func aMalformedCounterIsNeverOverwrittenWithoutForce() async throws {
        let fixture = try await KubernetesFixture(kind: .lease)
        let locker = try fixture.makeKubernetesLocker()
        let name = try LockName("corrupt")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        try await fixture.corruptState(of: name)
        await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
        }
        await #expect(throws: LockheedError.self) { try await locker.release(name, holder: "a") }
        let server = try await SharedDouble.get()
        let stored = try #require(server.lease(namespace: fixture.configuration.namespace, name: "lockheed-corrupt"))
        #expect(String(decoding: stored, as: UTF8.self).contains("truncated"))
        let forced = try await locker.acquire(
            AcquireRequest(name: name, holder: "b", duration: .seconds(30), force: .notAcquired))
        #expect(forced.holder == "b")
        await fixture.tearDown()
    }

    @Test func contendersUnderFaultsNeverHoldTogether() async throws {
        try await FaultSetup(kind: .lease).contendUnderFaults()
    }
}
