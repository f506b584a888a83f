import Foundation
import LockheedTestSupport
import Testing

extension ContentionHistory {
    /// Starts `count` contender processes of `executable` at once, each writing its history to
    /// its own file (`arguments` gets that file's path), waits for all of them, and checks the
    /// merged history: every process exited 0, at least `minimumSections` critical sections,
    /// every contender got the lock, sections never overlap and tokens only rise. Returns the
    /// merged history for further checks.
    @discardableResult
    public static func runContenderProcesses(
        executable: String, count: Int = 3, minimumSections: Int = 21, arguments: (_ historyPath: String) -> [String]
    ) async throws -> ContentionHistory {
        let directory = NSTemporaryDirectory() + "lockheed-contenders-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var paths: [String] = []
        var children: [ChildProcess] = []
        for index in 0..<count {
            let path = "\(directory)/history-\(index).txt"
            paths.append(path)
            children.append(
                try ChildProcess.spawn(
                    executable: executable, arguments: arguments(path), outputPath: "\(directory)/out-\(index).txt"))
        }
        for (index, child) in children.enumerated() {
            let status = await child.waitForExit()
            let output = (try? String(contentsOfFile: "\(directory)/out-\(index).txt", encoding: .utf8)) ?? ""
            #expect(status == 0, "contender \(index): \(output)")
        }
        let history = try ContentionHistory.load(paths: paths)
        #expect(history.intervals.count >= minimumSections, "only \(history.intervals.count) sections")
        #expect(Set(history.intervals.map(\.holder)).count == count, "every contender got the lock")
        try history.verify()
        return history
    }
}
