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
        try await ContentionHistory.runContenderProcesses(executable: executable) { path in
            [String(server.port), prefix, "contended", "3000", "5", path]
        }
    }
}
