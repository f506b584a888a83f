import LockheedConformance
import LockheedCore
import Testing

@testable import LockheedPostgres

@Suite("Postgres connection reuse", .timeSensitive)
struct PostgresPoolTests {
    @Test("refused acquires and server errors keep their connection; one connection serves a sequential caller")
    func refusalsReuseTheConnection() async throws {
        let fixture = try await PostgresFixture()
        let holder = try fixture.makePostgresLocker()
        let other = try fixture.makePostgresLocker()
        let name = try LockName("reuse")
        _ = try await holder.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        for _ in 0..<5 {
            let request = try AcquireRequest(name: name, holder: "b", duration: .seconds(30))
            #expect(try await lockheedError { try await other.acquire(request) }.code == .held)
            #expect(
                try await lockheedError { try await other.renew(name, holder: "b", duration: .seconds(30)) }.code
                    == .lost)
        }
        #expect(other.store.pool.connectionsOpened == 1)
        await fixture.tearDown()
    }
}
