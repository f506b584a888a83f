import Foundation
import LockheedCore
import LockheedRedisTesting
import Logging
import Testing

@testable import LockheedRedis

extension RedisDedicatedServerTests {
    @Suite("Redis eviction policy warnings")
    struct RedisDiagnosticsTests {
        @Test("allkeys-* and volatile-* policies under maxmemory are reported; noeviction is not")
        func policies() async throws {
            let server = try await RedisTestServer.start(extraArguments: [
                "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru",
            ])
            let locker = try RedisLocker(configuration: server.configuration(keyPrefix: uniquePrefix()))
            let diagnostics: any LockerDiagnostics = locker
            let evicting = await diagnostics.storageWarnings()
            #expect(evicting.count == 1)
            #expect(evicting.first?.contains("allkeys-lru") == true)
            #expect(evicting.first?.contains("fencing") == true)

            _ = try await locker.rawCommand(["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"])
            let volatile = await locker.storageWarnings()
            #expect(volatile.count == 1)
            #expect(volatile.first?.contains("volatile-lfu") == true)

            _ = try await locker.rawCommand(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
            #expect(await locker.storageWarnings().isEmpty)
            _ = try await locker.rawCommand(["CONFIG", "SET", "maxmemory-policy", "allkeys-random"])
            _ = try await locker.rawCommand(["CONFIG", "SET", "maxmemory", "0"])
            #expect(await locker.storageWarnings().isEmpty, "no memory limit: nothing is evicted")
            await locker.shutdown()
            await server.stop()
        }

        @Test("an evicting server is logged once per locker, as a warning")
        func loggedOnce() async throws {
            let server = try await RedisTestServer.start(extraArguments: [
                "--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru",
            ])
            let log = CapturedLog()
            let locker = try RedisLocker(
                configuration: server.configuration(keyPrefix: uniquePrefix()), logger: log.logger())
            let name = try LockName("warned")
            for round in 0..<3 {
                _ = try await locker.acquire(try AcquireRequest(name: name, holder: "h\(round)", duration: .seconds(5)))
                _ = try await locker.release(name, holder: "h\(round)")
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while log.messages(at: .warning).isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            _ = try await locker.acquire(try AcquireRequest(name: name, holder: "again", duration: .seconds(5)))
            try await Task.sleep(for: .milliseconds(200))
            let warnings = log.messages(at: .warning)
            #expect(warnings.count == 1, "one warning per locker, got \(warnings)")
            #expect(warnings.first?.contains("allkeys-lru") == true)

            let quiet = CapturedLog()
            let shared = try await SharedRedisServer.shared.get()
            let calm = try RedisLocker(
                configuration: shared.configuration(keyPrefix: uniquePrefix()), logger: quiet.logger())
            _ = try await calm.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(5)))
            try await Task.sleep(for: .milliseconds(300))
            #expect(quiet.messages(at: .warning).isEmpty, "a server without a memory limit is not warned about")
            await calm.shutdown()
            await locker.shutdown()
            await server.stop()
        }
    }
}
