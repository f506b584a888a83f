import LockheedConformance
import LockheedCore
@_spi(Testing) import LockheedMemory
import Testing

/// The in-memory store as a conformance fixture: a fresh store per test.
struct MemoryFixture: ConformanceFixture {
    let store = MemoryLockStore()
    var capabilities: ConformanceCapabilities { .all.subtracting([.corruptHook, .loseCounterHook, .freezeHook]) }
    func makeLocker() async throws -> any Locker { store.makeLocker() }
    func expireLeases(of name: LockName) async throws { store.expireLeases(of: name) }
    func deleteLock(_ name: LockName) async throws { store.deleteLock(name) }
}

@Suite("Memory backend conformance", .timeSensitive)
struct MemoryConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(on: MemoryFixture())
    }
}
