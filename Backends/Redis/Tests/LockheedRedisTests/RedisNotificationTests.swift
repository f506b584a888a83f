import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import LockheedTestSupport
import Testing

@testable import LockheedRedis

@Suite("Redis release notification and contention", .timeSensitive)
struct RedisNotificationTests {
    @Test("a release on another client wakes a waiter through pub/sub, long before its poll timeout")
    func wakeOnRelease() async throws {
        let fixture = try await RedisFixture()
        let holder = try fixture.makeRedisLocker()
        let waiter = try fixture.makeRedisLocker()
        let name = try LockName("handoff")
        _ = try await holder.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        let request = try AcquireRequest(name: name, holder: "b", duration: .seconds(30))
        #expect(try await lockheedError { try await waiter.acquire(request) }.code == .held)
        waiter.subscriber.start()
        #expect(await eventually { waiter.subscriber.isConnected })
        let waiting = Task { try await waiter.waitForChange(of: name, timeout: .seconds(10)) }
        try await Task.sleep(for: .milliseconds(100))
        let released = ContinuousClock.now
        #expect(try await holder.release(name, holder: "a"))
        try await waiting.value
        let latency = ContinuousClock.now - released
        #expect(latency < .seconds(2), "woken after \(latency)")
        _ = try await waiter.acquire(request)
        await fixture.tearDown()
    }

    @Test("a release between the refused acquire and the wait is not missed")
    func releaseBeforeWait() async throws {
        let fixture = try await RedisFixture()
        let holder = try fixture.makeRedisLocker()
        let waiter = try fixture.makeRedisLocker()
        let name = try LockName("early-release")
        waiter.subscriber.start()
        #expect(await eventually { waiter.subscriber.isConnected })
        _ = try await holder.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
        let attempted = ContinuousClock.now
        #expect(
            try await lockheedError {
                try await waiter.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
            }.code == .held)
        #expect(try await holder.release(name, holder: "a"))
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        try await waiter.waitForChange(of: name, since: attempted, timeout: .seconds(10))
        #expect(ContinuousClock.now - started < .seconds(1))
        await fixture.tearDown()
    }

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
