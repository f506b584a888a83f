import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import LockheedTestSupport
import Synchronization
import Testing

@testable import LockheedRedis

/// The one `redis-server` of this test process, started on first use and shared by every test.
actor SharedRedisServer {
    static let shared = SharedRedisServer()
    private var starting: Task<RedisTestServer, any Error>?

    /// The running server, started once even when many tests ask at the same moment.
    func get() async throws -> RedisTestServer {
        if let starting { return try await starting.value }
        let task = Task { () async throws -> RedisTestServer in try await RedisTestServer.start() }
        starting = task
        return try await task.value
    }
}

/// A unique key prefix per test, so tests share the server without seeing each other's locks.
func uniquePrefix(_ label: String = "t") -> String {
    "\(label)-\(UInt64.random(in: 0...UInt64.max))"
}

/// The Redis backend as a conformance fixture: the shared server, a fresh key prefix per test.
final class RedisFixture: ConformanceFixture {
    let configuration: RedisConfiguration
    private let lockers = Mutex<[RedisLocker]>([])
    private let proxies = Mutex<[FaultProxy]>([])
    private let admin: RedisLocker

    init(configuration: RedisConfiguration? = nil) async throws {
        let server = try await SharedRedisServer.shared.get()
        self.configuration = configuration ?? server.configuration(keyPrefix: uniquePrefix())
        admin = try RedisLocker(configuration: self.configuration)
    }

    var capabilities: ConformanceCapabilities { .all }

    func makeLocker() async throws -> any Locker { try makeRedisLocker() }

    func makeRedisLocker() throws -> RedisLocker {
        let locker = try RedisLocker(configuration: configuration)
        lockers.withLock { $0.append(locker) }
        return locker
    }

    /// A client connected through a ``FaultProxy``: freezing it stops its bytes both ways, so a
    /// command already written waits for a reply that does not come (the command timeout is
    /// longer than the lease the conformance case holds).
    func makeFreezableClient() async throws -> FreezableClient {
        let proxy = try FaultProxy(forwardingTo: configuration.port)
        var viaProxy = configuration
        viaProxy.port = proxy.port
        viaProxy.commandTimeout = .seconds(10)
        let locker = try RedisLocker(configuration: viaProxy)
        lockers.withLock { $0.append(locker) }
        proxies.withLock { $0.append(proxy) }
        return FreezableClient(locker: locker, freeze: { proxy.freeze() }, thaw: { proxy.resume() })
    }

    /// Connects the locker's pub/sub subscription, which otherwise starts after its first refusal.
    func prepareToWait(on locker: any Locker) async throws {
        let redis = try #require(locker as? RedisLocker)
        redis.subscriber.start()
        #expect(await eventually { redis.subscriber.isConnected })
    }

    func expireLeases(of name: LockName) async throws { try await admin.expireLeasesNow(of: name) }

    /// Deletes the lock's hash; the fencing counter key stays, as an operator's `DEL` of the
    /// lock key would leave it.
    func deleteLock(_ name: LockName) async throws { _ = try await admin.rawCommand(["DEL", admin.lockKey(name)]) }

    /// Overwrites the lease list with text the parser rejects.
    func corruptState(of name: LockName) async throws {
        _ = try await admin.rawCommand(["HSET", admin.lockKey(name), "leases", "this is not a lease"])
    }

    /// Deletes the counter key and the lock's own record of its last token (its `fence` field),
    /// as an eviction, a restart without persistence or an operator's `DEL` would lose them.
    func loseFencingCounter(of name: LockName) async throws {
        _ = try await admin.rawCommand(["DEL", admin.fenceKey(name)])
        _ = try await admin.rawCommand(["HDEL", admin.lockKey(name), "fence"])
    }

    func tearDown() async {
        for locker in lockers.withLock({ $0 }) { await locker.shutdown() }
        await admin.shutdown()
        for proxy in proxies.withLock({ $0 }) { proxy.stop() }
    }
}

/// The tests that start servers of their own (restarted, memory-limited, password-protected),
/// one suite at a time, so they do not all start at once beside the conformance suite.
@Suite("Redis on dedicated servers", .serialized, .loadsMachine)
struct RedisDedicatedServerTests {}

@Suite("Redis backend conformance", .timeSensitive)
struct RedisConformanceTests {
    @Test(arguments: ConformanceSuite.cases)
    func conformance(_ testCase: ConformanceCase) async throws {
        try await testCase.run(on: try await RedisFixture())
    }

    /// The same suite with every reply awaited by the reactor thread, never polled for.
    @Test(arguments: ConformanceSuite.cases)
    func conformanceWithoutPolling(_ testCase: ConformanceCase) async throws {
        var configuration = try await SharedRedisServer.shared.get().configuration(keyPrefix: uniquePrefix())
        configuration.replySpin = .zero
        try await testCase.run(on: try await RedisFixture(configuration: configuration))
    }
}
