import Foundation
import LockheedConformance
import LockheedCore
import LockheedPostgresTesting
import Testing

@testable import LockheedPostgres

@Suite("Postgres server restart", .timeSensitive)
struct PostgresRestartTests {
    @Test("restarted while a lock is held: renewals fail as unavailable, then succeed; tokens keep rising")
    func restart() async throws {
        let server = try await PostgresTestServer.start()
        let configuration = server.configuration(schema: uniqueSchema())
        let locker = try PostgresLocker(configuration: configuration)
        let other = try PostgresLocker(configuration: configuration)
        let name = try LockName("restart")
        let first = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(60)))
        other.store.listener.start()
        #expect(await eventually { other.store.listener.isConnected })

        await server.halt()
        for _ in 0..<3 {
            let started = ContinuousClock.now
            let error = try await lockheedError { try await locker.renew(name, holder: "a", duration: .seconds(60)) }
            #expect(error.code == .unavailable, "expected .unavailable, got \(error)")
            #expect(ContinuousClock.now - started < .seconds(5), "a refused connection must fail fast")
        }
        #expect(try await lockheedError { try await other.list() }.code == .unavailable)

        let restarted = try await server.restart()
        // The lease is durable: the holder's renewal succeeds once the server is back.
        let renewed = try await locker.renew(name, holder: "a", duration: .seconds(60))
        #expect(renewed.fencingToken == first.fencingToken)
        #expect(
            try await lockheedError {
                try await other.acquire(AcquireRequest(name: name, holder: "b", duration: .seconds(60)))
            }.code == .held)
        #expect(try await locker.release(name, holder: "a"))
        let second = try await other.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(60)))
        #expect(second.fencingToken > first.fencingToken, "tokens \(first.fencingToken) then \(second.fencingToken)")
        // The listener reconnects by itself.
        #expect(await eventually(within: .seconds(10)) { other.store.listener.isConnected })

        await locker.shutdown()
        await other.shutdown()
        await restarted.stop()
    }
}
