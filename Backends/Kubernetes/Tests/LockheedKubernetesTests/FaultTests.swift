import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Synchronization
import Testing

@testable import LockheedKubernetes

/// A private double per test, so injected faults hit only that test.
struct FaultSetup {
    let server: KubernetesAPIServerDouble
    let namespace: String
    var configuration: KubernetesConfiguration

    init(tokens: Set<String> = ["test-token"], kind: KubernetesConfiguration.StorageKind = .configMap) async throws {
        server = try await KubernetesAPIServerDouble.start(bearerTokens: tokens)
        namespace = freshNamespace()
        server.createNamespace(namespace)
        configuration = doubleConfiguration(server, namespace: namespace)
        configuration.kind = kind
    }

    func locker() throws -> KubernetesLocker { try KubernetesLocker(configuration: configuration) }

    func finish(_ lockers: KubernetesLocker...) async {
        for locker in lockers { await locker.shutdown() }
        try? await server.shutdown()
    }
}

func acquireRequest(_ name: String, _ holder: String, duration: Duration? = .seconds(30)) throws -> AcquireRequest {
    try AcquireRequest(name: LockName(name), holder: holder, duration: duration)
}

@Suite("injected faults", .timeSensitive)
struct FaultTests {
    @Test func serverErrorsAreRetriedThenSucceed() async throws {
        let setup = try await FaultSetup()
        let locker = try setup.locker()
        setup.server.inject(.status(500, retryAfterSeconds: nil), on: .verb("GET"), times: 2)
        setup.server.inject(.status(503, retryAfterSeconds: nil), on: .verb("POST"), times: 1)
        let lease = try await locker.acquire(acquireRequest("flaky", "a"))
        #expect(lease.holder == "a")
        #expect(setup.server.requestCount("GET") == 3 && setup.server.requestCount("POST") == 2)
        await setup.finish(locker)
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let setup = try await FaultSetup()
        let locker = try setup.locker()
        setup.server.inject(.status(429, retryAfterSeconds: 1), on: .verb("GET"), times: 1)
        let start = ContinuousClock.now
        _ = try await locker.acquire(acquireRequest("throttled", "a"))
        #expect(ContinuousClock.now - start >= .milliseconds(950))
        await setup.finish(locker)
    }

    @Test func persistentFailuresBecomeUnavailable() async throws {
        var setup = try await FaultSetup()
        setup.configuration.maxAttempts = 3
        let locker = try setup.locker()
        setup.server.inject(.status(503, retryAfterSeconds: nil), on: .verb("GET"), times: 10)
        let error = await #expect(throws: LockheedError.self) { try await locker.acquire(acquireRequest("down", "a")) }
        guard error?.code == .unavailable else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        #expect(setup.server.requestCount("GET") == 3)
        await setup.finish(locker)
    }

    @Test func droppedConnectionsAndTimeoutsAreRetried() async throws {
        var setup = try await FaultSetup()
        setup.configuration.requestTimeout = .milliseconds(300)
        let locker = try setup.locker()
        _ = try await locker.acquire(acquireRequest("drop", "a"))
        setup.server.inject(.dropConnection, on: .verb("PUT"), times: 1)
        _ = try await locker.renew(LockName("drop"), holder: "a", duration: .seconds(30))
        setup.server.inject(.latency(.seconds(2)), on: .verb("PUT"), times: 1)
        let renewed = try await locker.renew(LockName("drop"), holder: "a", duration: .seconds(30))
        #expect(renewed.holder == "a")
        let state = try #require(try await locker.state(of: LockName("drop")))
        #expect(state.leases.map(\.holder) == ["a"])
        await setup.finish(locker)
    }

    @Test func aConflictStormIsRetriedWithinItsBoundThenUnavailable() async throws {
        var setup = try await FaultSetup()
        try await setup.stormConflicts()
    }

    @Test func credentialsPermissionsAndNamespaceErrorsAreTyped() async throws {
        var setup = try await FaultSetup()
        setup.configuration.authentication = .bearerToken("wrong-token")
        let badToken = try setup.locker()
        let unauthorized = await #expect(throws: LockheedError.self) {
            try await badToken.acquire(acquireRequest("auth", "a"))
        }
        let message = unauthorized?.message ?? ""
        guard unauthorized?.code == .unauthorized else {
            Issue.record("expected unauthorized, got \(String(describing: unauthorized))")
            return
        }
        #expect(!message.contains("wrong-token"), "tokens are never in messages")

        setup.configuration.authentication = .bearerToken("test-token")
        let locker = try setup.locker()
        setup.server.setForbidden(verb: "update", resource: "configmaps", namespace: setup.namespace)
        _ = try await locker.acquire(acquireRequest("rbac", "a"))  // create and get are allowed
        let forbidden = await #expect(throws: LockheedError.self) {
            try await locker.renew(LockName("rbac"), holder: "a", duration: .seconds(30))
        }
        let why = forbidden?.message ?? ""
        guard forbidden?.code == .forbidden else {
            Issue.record("expected forbidden, got \(String(describing: forbidden))")
            return
        }
        #expect(why.contains("update") && why.contains("configmaps"))

        setup.configuration.namespace = "no-such-namespace"
        let lost = try setup.locker()
        let missing = await #expect(throws: LockheedError.self) { try await lost.acquire(acquireRequest("ns", "a")) }
        let text = missing?.message ?? ""
        guard missing?.code == .invalidConfiguration else {
            Issue.record("expected invalidConfiguration, got \(String(describing: missing))")
            return
        }
        #expect(text.contains("no-such-namespace"))
        await setup.finish(badToken, locker, lost)
    }

    @Test func malformedStateIsNeverOverwrittenWithoutForce() async throws {
        let fixture = try await KubernetesFixture()
        let locker = try fixture.makeKubernetesLocker()
        let name = try LockName("corrupt")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        try await fixture.corruptState(of: name)
        for holder in ["a", "b"] {
            await #expect(throws: LockheedError.self) {
                try await locker.acquire(AcquireRequest(name: name, holder: holder, duration: .seconds(30)))
            }
        }
        await #expect(throws: LockheedError.self) { try await locker.renew(name, holder: "a", duration: nil) }
        await #expect(throws: LockheedError.self) { try await locker.release(name, holder: "a") }
        let server = try await SharedDouble.get()
        let stored = try #require(
            server.configMap(namespace: fixture.configuration.namespace, name: "lockheed-corrupt"))
        #expect(String(decoding: stored, as: UTF8.self).contains("truncated"), "still the corrupt text")
        // A force condition may overwrite it.
        let forced = try await locker.acquire(
            AcquireRequest(name: name, holder: "b", duration: .seconds(30), force: .notAcquired))
        #expect(forced.holder == "b")
        await fixture.tearDown()
    }

    @Test func contendersUnderFaultsNeverHoldTogether() async throws {
        try await FaultSetup().contendUnderFaults()
    }
}

extension FaultSetup {
    /// Three conflicts on a renewal are retried; ten, with two retries allowed, end as
    /// `unavailable`, not as a refusal or a loss.
    mutating func stormConflicts() async throws {
        let patient = try locker()
        _ = try await patient.acquire(acquireRequest("storm", "a"))
        server.inject(.conflict, on: .verb("PUT"), times: 3)
        _ = try await patient.renew(LockName("storm"), holder: "a", duration: .seconds(30))
        #expect(try await patient.state(of: LockName("storm"))?.leases.map(\.holder) == ["a"])

        configuration.maxConflictRetries = 2
        let impatient = try locker()
        server.inject(.conflict, on: .verb("PUT"), times: 10)
        let error = await #expect(throws: LockheedError.self) {
            try await impatient.renew(LockName("storm"), holder: "a", duration: .seconds(30))
        }
        guard error?.code == .unavailable else {
            Issue.record("expected unavailable, got \(String(describing: error))")
            return
        }
        await finish(patient, impatient)
    }
}

extension FaultSetup {
    /// Four lockers contend for one lock while the server answers conflicts, 500s and dropped
    /// connections: never two holders, every grant its own fencing token.
    func contendUnderFaults() async throws {
        server.inject(.conflict, on: .verb("PUT"), times: 15)
        server.inject(.status(500, retryAfterSeconds: nil), on: .any, times: 10)
        server.inject(.dropConnection, on: .verb("GET"), times: 5)
        let tally = Tally()
        let lockers = try (0..<4).map { _ in try locker() }
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
        await finish(lockers[0], lockers[1], lockers[2], lockers[3])
    }
}

/// Holders inside the critical section, the most ever at once, and the tokens granted.
final class Tally: Sendable {
    let state = Mutex<(current: Int, maximum: Int, tokens: [UInt64])>((0, 0, []))
}
