import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import LockheedTestSupport
import Testing

@testable import LockheedRedis

@Suite("Redis contention across processes", .timeSensitive)
struct RedisNotificationTests {
    @Test("contender processes never overlap and tokens only rise")
    func multiProcess() async throws {
        let server = try await SharedRedisServer.shared.get()
        let executable = try #require(ChildProcess.builtProduct(named: "RedisContender"))
        let prefix = uniquePrefix("contention")
        let directory = NSTemporaryDirectory() + prefix
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths: [String] = []
        var children: [ChildProcess] = []
        for index in 0..<3 {
            let path = "\(directory)/history-\(index).txt"
            paths.append(path)
            children.append(
                try ChildProcess.spawn(
                    executable: executable,
                    arguments: [String(server.port), prefix, "contended", "3000", "5", path],
                    outputPath: "\(directory)/out-\(index).txt"))
        }
        for child in children { #expect(await child.waitForExit() == 0) }
        let history = try ContentionHistory.load(paths: paths)
        #expect(history.intervals.count > 20, "only \(history.intervals.count) sections")
        #expect(Set(history.intervals.map(\.holder)).count == 3, "every contender got the lock")
        try history.verify()
    }
}
