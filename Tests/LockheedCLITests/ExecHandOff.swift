import Foundation
import LockheedConformance
import Testing

/// The `lockheed exec` hand-off every backend's end-to-end tests run: a tagged holder runs until
/// the test lets it go; `exec --no-wait` is refused (75) naming the holder; `list` with a
/// condition on the tag shows the lock; a second `exec` waits, says who holds the lock, and runs
/// after the first. The holder waits for a file rather than sleeping, so a loaded machine cannot
/// end it before the refused command starts.
struct ExecHandOff {
    let backend: [String]
    let directory: TemporaryDirectory
    var lock = "job"
    var holder = "holder-one"
    var tag = "nightly"
    /// Options of the holder's `exec` beyond `--tag` and `--holder` (a duration, a renew interval).
    var holderOptions: [String] = []

    /// Runs the hand-off; `whileHeld` runs while the holder holds the lock and the second waits.
    func run(whileHeld: () async throws -> Void = {}) async throws {
        let log = directory.path("hand-off-log")
        let letGo = directory.path("hand-off-let-go")
        defer { _ = FileManager.default.createFile(atPath: letGo, contents: nil) }
        let first = try CLIProcess.start(
            ["exec", "--tag", tag, "--holder", holder] + holderOptions + backend
                + [
                    lock, "--", "sh", "-c",
                    "echo first-start >> \(log); while [ ! -f \(letGo) ]; do sleep 0.05; done; echo first-end >> \(log)",
                ],
            in: directory.url)
        #expect(await eventually(within: .seconds(20)) { Self.contents(log).contains("first-start") })

        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + [lock, "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains(holder), "\(refused.stderr)")

        let listed = try await CLIProcess.run(
            ["list", "--where", "acquired and tags contains \(tag)", "--format", "json"] + backend, in: directory.url)
        #expect(listed.status == 0, "\(listed.stderr)")
        let locks = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(locks.map { $0["name"] as? String } == [lock])

        let second = try CLIProcess.start(
            ["exec"] + backend + [lock, "--", "sh", "-c", "echo second >> \(log)"], in: directory.url)
        #expect(await eventually(within: .seconds(20)) { second.stderr.contains("is held by \(holder)") })
        try await whileHeld()
        _ = FileManager.default.createFile(atPath: letGo, contents: nil)
        let firstResult = await first.finish()
        #expect(firstResult.status == 0, "\(firstResult.stderr)")
        let secondResult = await second.finish()
        #expect(secondResult.status == 0, "\(secondResult.stderr)")
        #expect(Self.contents(log) == "first-start\nfirst-end\nsecond\n")
    }

    private static func contents(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }
}
