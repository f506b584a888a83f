import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Synchronization
import Testing

@testable import LockheedKubernetes

/// The ConfigMap storage's fault cases, on Leases (a private double per test).
@Suite("KubernetesLease injected faults")
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
        let locker = try setup.locker()
        _ = try await locker.acquire(acquireRequest("storm", "a"))
        setup.server.inject(.conflict, on: .verb("PUT"), times: 3)
        _ = try await locker.renew(LockName("storm"), holder: "a", duration: .seconds(30))
        #expect(try await locker.state(of: LockName("storm"))?.leases.map(\.holder) == ["a"])
        setup.configuration.maxConflictRetries = 2
        let impatient = try setup.locker()
        setup.server.inject(.conflict, on: .verb("PUT"), times: 10)
        let error = try await lockheedError {
            try await impatient.renew(LockName("storm"), holder: "a", duration: .seconds(30))
        }
        #expect(error.isTransient, "\(error)")
        await setup.finish(locker, impatient)
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
        let setup = try await FaultSetup(kind: .lease)
        setup.server.inject(.conflict, on: .verb("PUT"), times: 15)
        setup.server.inject(.status(500, retryAfterSeconds: nil), on: .any, times: 10)
        setup.server.inject(.dropConnection, on: .verb("GET"), times: 5)
        let tally = Tally()
        let lockers = try (0..<4).map { _ in try setup.locker() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, locker) in lockers.enumerated() {
                group.addTask {
                    let name = try LockName("contended")
                    var acquired = 0
                    let deadline = ContinuousClock.now + .seconds(20)
                    while acquired < 5, ContinuousClock.now < deadline {
                        let lease: Lease
                        do {
                            lease = try await locker.acquire(
                                AcquireRequest(name: name, holder: "h\(index)", duration: .seconds(10)))
                        } catch let error as LockheedError where error.isTransient {
                            try await Task.sleep(for: .milliseconds(Int.random(in: 5...30)))
                            continue
                        }
                        tally.state.withLock {
                            $0.current += 1
                            $0.maximum = max($0.maximum, $0.current)
                            $0.tokens.append(lease.fencingToken)
                        }
                        try await Task.sleep(for: .milliseconds(10))
                        tally.state.withLock { $0.current -= 1 }
                        while true {
                            do {
                                _ = try await locker.release(name, holder: "h\(index)")
                                break
                            } catch let error as LockheedError where error.isTransient { continue }
                        }
                        acquired += 1
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = tally.state.withLock { $0 }
        #expect(result.maximum == 1, "never two holders")
        #expect(result.tokens.count >= 8)
        #expect(Set(result.tokens).count == result.tokens.count, "every grant has its own fencing token")
        await setup.finish(lockers[0], lockers[1], lockers[2], lockers[3])
    }
}
