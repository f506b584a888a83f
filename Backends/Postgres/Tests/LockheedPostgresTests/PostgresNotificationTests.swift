import Foundation
import LockheedConformance
import LockheedCore
import LockheedPostgresTesting
import LockheedTestSupport
import Testing

@testable import LockheedPostgres

@Suite("Postgres NOTIFY hand-off and contention", .timeSensitive)
struct PostgresNotificationTests {
    @Test("a takeover and a break notify too; a refresh does not")
    func takeoverAndBreak() async throws {
        let fixture = try await PostgresFixture()
        let a = try fixture.makePostgresLocker()
        let waiter = try fixture.makePostgresLocker()
        let name = try LockName("takeover")
        waiter.store.listener.start()
        #expect(await eventually { waiter.store.listener.isConnected })
        _ = try await a.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        try await Task.sleep(for: .milliseconds(200))
        var since = ContinuousClock.now
        _ = try await a.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        var started = ContinuousClock.now
        try await waiter.waitForChange(of: name, since: since, timeout: .milliseconds(700))
        #expect(ContinuousClock.now - started >= .milliseconds(600), "a refresh removes no holder: no NOTIFY")

        since = ContinuousClock.now
        _ = try await a.acquire(
            try AcquireRequest(name: name, holder: "b", duration: .seconds(30), force: .heldBy("a")))
        started = ContinuousClock.now
        try await waiter.waitForChange(of: name, since: since, timeout: .seconds(20))
        #expect(ContinuousClock.now - started < .seconds(3), "a takeover notifies")

        since = ContinuousClock.now
        _ = try await a.breakLock(name, if: nil)
        started = ContinuousClock.now
        try await waiter.waitForChange(of: name, since: since, timeout: .seconds(20))
        #expect(ContinuousClock.now - started < .seconds(3), "a break notifies")
        await fixture.tearDown()
    }

    @Test("contender processes on a new schema never overlap and tokens only rise")
    func multiProcess() async throws {
        let server = try await SharedPostgresServer.shared.get()
        let executable = try #require(ChildProcess.builtProduct(named: "PostgresContender"))
        let schema = uniqueSchema("contention")
        // All start at once on a schema that does not exist yet: they race to create it.
        try await ContentionHistory.runContenderProcesses(executable: executable) { path in
            [String(server.port), schema, "contended", "3000", "5", path]
        }
        try await superuser(server, "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE")
    }
}
