import LockheedConformance
import Testing

extension SQLiteBackendTests {
    @Suite("SQLite backend conformance")
    struct SQLiteConformanceTests {
        @Test(arguments: ConformanceSuite.cases)
        func conformance(_ testCase: ConformanceCase) async throws {
            try await testCase.run(on: SQLiteFixture())
        }
    }
}
