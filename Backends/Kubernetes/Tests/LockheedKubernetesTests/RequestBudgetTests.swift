import Foundation
import KubernetesAPIDouble
import LockheedConformance
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("request budget", .timeSensitive)
struct RequestBudgetTests {
    @Test func acquireOfAnExistingLockIsGetPlusPutAndRenewReleaseAreOnePut() async throws {
        let server = try await KubernetesAPIServerDouble.start()
        defer { Task { try? await server.shutdown() } }
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let configuration = doubleConfiguration(server, namespace: namespace)
        let name = try LockName("budget")
        let creator = try KubernetesLocker(configuration: configuration)
        let locker = try KubernetesLocker(configuration: configuration)
        defer {
            Task {
                await creator.shutdown()
                await locker.shutdown()
            }
        }

        // First ever acquire: GET (404), a List of at most one item for the etcd revision the
        // fencing counter starts above (the lock may have been deleted), POST.
        server.resetCounters()
        _ = try await creator.acquire(AcquireRequest(name: name, holder: "creator", duration: .seconds(30)))
        #expect(server.requestCount() == 3)
        #expect(server.requestCount("GET") == 1 && server.requestCount("LIST") == 1 && server.requestCount("POST") == 1)
        _ = try await creator.release(name, holder: "creator")
        server.resetCounters()

        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        #expect(server.requestCount() == 2)
        #expect(server.requestCount("GET") == 1 && server.requestCount("PUT") == 1)
        #expect(server.requestCount("LIST") == 0, "no List to find one lock")

        server.resetCounters()
        _ = try await locker.renew(name, holder: "a", duration: .seconds(30))
        #expect(server.requestCount() == 1 && server.requestCount("PUT") == 1)

        server.resetCounters()
        #expect(try await locker.release(name, holder: "a"))
        #expect(server.requestCount() == 1 && server.requestCount("PUT") == 1)

        // A renew after someone else changed the object: PUT (409), GET, PUT.
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        _ = try await creator.acquire(
            AcquireRequest(name: try LockName("budget"), holder: "a", duration: .seconds(30)))
        server.resetCounters()
        _ = try await locker.renew(name, holder: "a", duration: .seconds(30))
        #expect(server.requestCount("PUT") == 2 && server.requestCount("GET") == 1)
        #expect(locker.requestCount > 0)
    }

    @Test func aRenewOnLoopbackIsFast() async throws {
        let server = try await KubernetesAPIServerDouble.start()
        defer { Task { try? await server.shutdown() } }
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        let locker = try KubernetesLocker(configuration: doubleConfiguration(server, namespace: namespace))
        let name = try LockName("fast")
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for _ in 0..<50 { _ = try await locker.renew(name, holder: "a", duration: .seconds(30)) }
        }
        print("50 renews took \(elapsed)")
        #expect(elapsed < .seconds(5))
        await locker.shutdown()
    }
}
