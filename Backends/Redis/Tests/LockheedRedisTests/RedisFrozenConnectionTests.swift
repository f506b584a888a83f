import LockheedCore
import LockheedTestSupport
import Synchronization
import Testing

@testable import LockheedRedis

/// A connection that freezes mid-lease (a network path that drops every packet without a reset)
/// must not let the holder's work outlive its lease, though the renewal already written on it
/// cannot be cancelled and the command timeout is longer than the lease's remaining validity.
@Suite("Redis frozen connection")
struct RedisFrozenConnectionTests {
    @Test("the body is cancelled before the lease can expire and before another holder is granted")
    func frozenConnectionCancelsBodyInTime() async throws {
        let server = try await SharedRedisServer.shared.get()
        let proxy = try FaultProxy(forwardingTo: server.port)
        defer { proxy.stop() }
        let prefix = uniquePrefix("frozen")
        var viaProxy = server.configuration(keyPrefix: prefix)
        viaProxy.port = proxy.port
        viaProxy.commandTimeout = .seconds(10)
        let holderLocker = try RedisLocker(configuration: viaProxy)
        let otherLocker = try RedisLocker(configuration: server.configuration(keyPrefix: prefix))
        defer {
            Task {
                await holderLocker.shutdown()
                await otherLocker.shutdown()
            }
        }

        let duration = Duration.seconds(3)
        let lock = try Lock("frozen", locker: holderLocker).duration(duration).renewInterval(.seconds(1))
        let lastGrant = Mutex<ContinuousClock.Instant>(.now)
        let events = lock.events()
        let watcher = Task {
            for await event in events {
                if case .renewed = event { lastGrant.withLock { $0 = .now } }
            }
        }
        defer { watcher.cancel() }
        let cancelledAt = Mutex<ContinuousClock.Instant?>(nil)
        let holding = Task {
            try await lock.withLock { _ in
                try await Task.sleep(for: .milliseconds(1500))
                proxy.freeze()
                do { try await Task.sleep(for: .seconds(30)) } catch { cancelledAt.withLock { $0 = .now } }
            }
        }
        let contender = try Lock("frozen", locker: otherLocker).retry(.wait(upTo: .seconds(20))).keepAlive(false)
        while proxy.mode != .freeze { try await Task.sleep(for: .milliseconds(10)) }
        try await contender.acquire()
        let otherGrantedAt = ContinuousClock.now
        try await contender.release()
        let result = await holding.result
        proxy.resume()
        guard case .failure(let error as LockheedError) = result, case .lost = error else {
            Issue.record("expected .lost, got \(result)")
            return
        }
        let cancelled = try #require(cancelledAt.withLock { $0 })
        let renewedLast = lastGrant.withLock { $0 }
        #expect(cancelled - renewedLast < duration, "cancelled \(cancelled - renewedLast) after the last renewal")
        #expect(cancelled < otherGrantedAt, "another holder was granted the lock before the body stopped")
    }
}
