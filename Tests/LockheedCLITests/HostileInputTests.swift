import Foundation
import LockheedConformance
import Testing

/// The `lockheed` binary given input a hostile user would try: every case ends in a typed error
/// and exit 64, never a crash.
@Suite(.loadsMachine) struct HostileInputTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    private func lockheed(_ arguments: [String]) async throws -> CLIProcess.Finished {
        try await CLIProcess.run(arguments, in: directory.url)
    }

    private func expectUsageError(_ run: CLIProcess.Finished, mentioning text: String) {
        #expect(run.status == 64, "exit \(run.status): \(run.stderr.prefix(500))")
        #expect(run.stderr.contains(text), "\(run.stderr.prefix(500))")
    }

    @Test func deeplyNestedParenthesesAreRefused() async throws {
        let condition = String(repeating: "(", count: 5_000) + "acquired" + String(repeating: ")", count: 5_000)
        let run = try await lockheed(["list", "--backend", "memory:", "--where", condition])
        expectUsageError(run, mentioning: "nesting deeper than 64")
    }

    @Test func thousandsOfNegationsAreRefused() async throws {
        let run = try await lockheed(
            ["list", "--backend", "memory:", "--where", String(repeating: "!", count: 20_000) + "acquired"])
        expectUsageError(run, mentioning: "nesting deeper than 64")
        let words = try await lockheed(
            ["list", "--backend", "memory:", "--where", String(repeating: "not ", count: 5_000) + "acquired"])
        expectUsageError(words, mentioning: "nesting deeper than 64")
    }

    @Test func nestingAtTheLimitIsAccepted() async throws {
        let condition = String(repeating: "(", count: 63) + "acquired" + String(repeating: ")", count: 63)
        let run = try await lockheed(["list", "--backend", "memory:", "--where", condition])
        #expect(run.status == 0, "\(run.stderr.prefix(500))")
    }

    @Test(arguments: ["--duration", "--wait", "--renew-interval", "--kill-grace"])
    func hugeDurationsAreRefused(_ option: String) async throws {
        let run = try await lockheed(
            ["exec", "--backend", "memory:", option, "99999999999s", "job", "--", "true"])
        expectUsageError(run, mentioning: "99999999999s")
        #expect(run.stderr.contains("at most"), "\(run.stderr)")
    }

    @Test func hugeSharedLimitIsRefused() async throws {
        let run = try await lockheed(
            ["exec", "--backend", "memory:", "--shared", "9223372036854775807", "job", "--", "true"])
        expectUsageError(run, mentioning: "10000")
        let zero = try await lockheed(["exec", "--backend", "memory:", "--shared", "0", "job", "--", "true"])
        expectUsageError(zero, mentioning: "at least 1")
    }

    @Test func hugeKillGraceIsRefusedButAnHourIsFine() async throws {
        let run = try await lockheed(["exec", "--backend", "memory:", "--kill-grace", "2h", "job", "--", "true"])
        expectUsageError(run, mentioning: "--kill-grace")
        let fine = try await lockheed(["exec", "--backend", "memory:", "--kill-grace", "1h", "job", "--", "true"])
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test func relativeSQLitePathIsRefusedWithAnAbsoluteExample() async throws {
        let name = "lockheed-relative-\(UUID().uuidString.prefix(8)).db"
        let resolved = FileManager.default.currentDirectoryPath + "/" + name
        defer { try? FileManager.default.removeItem(atPath: resolved) }
        let run = try await lockheed(["list", "--backend", "sqlite:" + name])
        expectUsageError(run, mentioning: "absolute")
        #expect(run.stderr.contains("sqlite://" + resolved), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: resolved))
    }
}
