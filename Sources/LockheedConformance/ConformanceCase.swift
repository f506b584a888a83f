import LockheedCore
import Testing

/// One behaviour every backend must show, runnable against any fixture.
///
/// A backend's test target runs them all:
/// ```swift
/// @Test(arguments: ConformanceSuite.cases)
/// func conformance(_ testCase: ConformanceCase) async throws {
///     try await testCase.run(on: try await MyFixture())
/// }
/// ```
public struct ConformanceCase: Sendable, CustomStringConvertible, CustomTestStringConvertible {
    /// What the case checks, e.g. `"acquire refuses with holder info"`.
    public let name: String
    /// Capabilities the fixture must have; otherwise the case is skipped with a note.
    public let requires: ConformanceCapabilities
    let body: @Sendable (any ConformanceFixture) async throws -> Void

    init(
        _ name: String, requires: ConformanceCapabilities = [],
        _ body: @escaping @Sendable (any ConformanceFixture) async throws -> Void
    ) {
        self.name = name
        self.requires = requires
        self.body = body
    }

    /// The case's name.
    public var description: String { name }
    /// The case's name, as test reports show it.
    public var testDescription: String { name }

    /// Runs the case on `fixture` and tears the fixture down, even on failure. A fixture lacking
    /// a required capability skips the case: the test case is reported as skipped (cancelled),
    /// naming what is missing.
    public func run(on fixture: any ConformanceFixture) async throws {
        let missing = requires.subtracting(fixture.capabilities)
        guard missing.isEmpty else {
            await fixture.tearDown()
            let why = "the fixture lacks \(missing.names.joined(separator: ", "))"
            print("◇ conformance case \"\(name)\" skipped: \(why)")
            try Test.cancel("skipped: \(why)")
        }
        do {
            try await body(fixture)
        } catch {
            await fixture.tearDown()
            throw error
        }
        await fixture.tearDown()
    }
}

/// The single definition of correct behaviour: every case, for every backend.
public enum ConformanceSuite {
    /// All cases, in a stable order.
    public static let cases: [ConformanceCase] =
        acquireCases + releaseCases + tagCases + listCases + forceCases + fencingCases + sharedCases
        + lockHandleCases + retryCases + notificationCases + inputCases + faultCases + stressCases
}
