import LockheedCore

/// What a backend's test target provides to run the conformance suite: a fresh, isolated store
/// per test, more clients on it, and fault hooks that change it out of band.
///
/// A fixture that lacks a hook leaves its capability out, and the cases that need it are
/// skipped for that backend with a visible note (tooz's style).
public protocol ConformanceFixture: Sendable {
    /// What this fixture (and its backend) can do.
    var capabilities: ConformanceCapabilities { get }

    /// A new client of the same isolated store, as another program instance would have.
    func makeLocker() async throws -> any Locker

    /// Makes every lease of `name` expire now, as if its holders had stopped renewing.
    func expireLeases(of name: LockName) async throws

    /// Deletes `name`'s stored state out of band (an operator deleting the object).
    func deleteLock(_ name: LockName) async throws

    /// Writes state for `name` that the backend cannot parse.
    func corruptState(of name: LockName) async throws

    /// Loses `name`'s fencing counter out of band, the way the store can lose it in production:
    /// the counter key deleted or evicted (Redis), the field stripped by another client's write
    /// or the object deleted (Kubernetes), the database file deleted and re-created (SQLite).
    /// Held leases may be lost with it.
    func loseFencingCounter(of name: LockName) async throws

    /// A new client of the store whose connection can be frozen: bytes stop flowing both ways
    /// and nothing is closed, as on a network path that drops every packet (or, for a local
    /// store, another process holding it exclusively), so calls already made hang uncancellably.
    func makeFreezableClient() async throws -> FreezableClient

    /// Releases whatever the fixture started (servers, files, namespaces).
    func tearDown() async
}

/// A client from ``ConformanceFixture/makeFreezableClient()`` and the switch of its connection.
public struct FreezableClient: Sendable {
    /// The client.
    public let locker: any Locker
    /// Stops all traffic of `locker`'s connections.
    public let freeze: @Sendable () async throws -> Void
    /// Lets traffic flow again.
    public let thaw: @Sendable () async throws -> Void

    /// Wraps a client and its switch.
    public init(
        locker: any Locker, freeze: @escaping @Sendable () async throws -> Void,
        thaw: @escaping @Sendable () async throws -> Void
    ) {
        self.locker = locker
        self.freeze = freeze
        self.thaw = thaw
    }
}

extension ConformanceFixture {
    /// Unsupported unless the fixture says otherwise.
    public func expireLeases(of name: LockName) async throws { throw ConformanceUnsupported.hook("expireLeases") }
    /// Unsupported unless the fixture says otherwise.
    public func deleteLock(_ name: LockName) async throws { throw ConformanceUnsupported.hook("deleteLock") }
    /// Unsupported unless the fixture says otherwise.
    public func corruptState(of name: LockName) async throws { throw ConformanceUnsupported.hook("corruptState") }
    /// Unsupported unless the fixture says otherwise.
    public func loseFencingCounter(of name: LockName) async throws {
        throw ConformanceUnsupported.hook("loseFencingCounter")
    }
    /// Unsupported unless the fixture says otherwise.
    public func makeFreezableClient() async throws -> FreezableClient {
        throw ConformanceUnsupported.hook("makeFreezableClient")
    }
    /// Nothing to prepare by default.
    public func prepareToWait(on locker: any Locker) async throws {}
    /// Nothing to release by default.
    public func tearDown() async {}
}

/// Thrown by a default fault hook that a fixture did not implement.
public enum ConformanceUnsupported: Error, Sendable {
    /// The named hook is not implemented.
    case hook(String)
}

/// Features of a backend and hooks of its fixture that some conformance cases need.
public struct ConformanceCapabilities: OptionSet, Sendable, Hashable {
    /// The raw bits.
    public let rawValue: Int
    /// Creates a set from raw bits.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The backend supports shared locks.
    public static let sharedLocks = ConformanceCapabilities(rawValue: 1 << 0)
    /// ``ConformanceFixture/expireLeases(of:)`` works.
    public static let expireHook = ConformanceCapabilities(rawValue: 1 << 1)
    /// ``ConformanceFixture/deleteLock(_:)`` works.
    public static let deleteHook = ConformanceCapabilities(rawValue: 1 << 2)
    /// ``ConformanceFixture/corruptState(of:)`` works.
    public static let corruptHook = ConformanceCapabilities(rawValue: 1 << 3)
    /// Leases of a few hundred milliseconds expire on time (the backend's clock is this machine's
    /// or close to it), so expiry can be tested by waiting.
    public static let shortLeases = ConformanceCapabilities(rawValue: 1 << 4)
    /// ``ConformanceFixture/loseFencingCounter(of:)`` works.
    public static let loseCounterHook = ConformanceCapabilities(rawValue: 1 << 5)
    /// ``ConformanceFixture/makeFreezableClient()`` works.
    public static let freezeHook = ConformanceCapabilities(rawValue: 1 << 6)
    /// ``Locker/waitForChange(of:since:timeout:)`` returns soon after another client's release,
    /// takeover or break, long before its timeout (the backend is not only polled); see
    /// ``ConformanceFixture/prepareToWait(on:)``.
    public static let changeNotification = ConformanceCapabilities(rawValue: 1 << 7)

    /// The names of the capabilities in this set, for messages.
    public var names: [String] {
        let named: [(ConformanceCapabilities, String)] = [
            (.sharedLocks, "sharedLocks"), (.expireHook, "expireHook"), (.deleteHook, "deleteHook"),
            (.corruptHook, "corruptHook"), (.shortLeases, "shortLeases"), (.loseCounterHook, "loseCounterHook"),
            (.freezeHook, "freezeHook"), (.changeNotification, "changeNotification"),
        ]
        return named.filter { contains($0.0) }.map(\.1)
    }

    /// Everything.
    public static let all: ConformanceCapabilities = [
        .sharedLocks, .expireHook, .deleteHook, .corruptHook, .shortLeases, .loseCounterHook,
        .freezeHook, .changeNotification,
    ]
}
