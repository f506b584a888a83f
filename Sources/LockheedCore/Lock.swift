import CoreMetrics
import Foundation
import Logging
import Synchronization

/// A named lock as one program holds it: options, the current lease, renewal, events.
///
/// ```swift
/// let lock = try Lock("nightly-report", locker: locker)
///     .duration(.seconds(30))
///     .tags(["nightly"])
///     .retry(.wait(upTo: .seconds(60)))
/// try await lock.withLock { held in
///     try await report.write(fencingToken: held.fencingToken)
/// }
/// ```
///
/// ``withLock(_:)`` is the safe form: it renews in a child task and cancels the body as soon as
/// the lease is lost. ``acquire()`` and ``release()`` are the manual form; loss then arrives as
/// a ``LockEvent/lost(_:)`` event and ``isHeld`` turns false. Call ``release()`` when done.
public final class Lock: Sendable {
    /// The lock's name.
    public let name: LockName
    /// This handle's holder identifier, unique per handle unless given.
    public let holder: String
    /// The backend.
    public let locker: any Locker
    /// Where events are logged.
    public let logger: Logger

    struct State {
        var options: LockOptions
        var lease: Lease?
        var keeper: Task<Void, Never>?
        var subscribers: [UInt64: AsyncStream<LockEvent>.Continuation] = [:]
        var nextSubscriber: UInt64 = 0
        /// Until when, on this machine's monotonic clock, the lease is certainly still valid:
        /// the send time of the last successful request plus the duration it asked for.
        var validUntil: ContinuousClock.Instant?
        /// When the keeper should next renew.
        var nextRenewal: ContinuousClock.Instant?
        /// A release of a grant this handle may have received without learning of it.
        var cleanup: Task<Void, Never>?

        /// The lease, unless it is gone or its certain validity has passed at `now`.
        func heldLease(at now: ContinuousClock.Instant) -> Lease? {
            guard let lease else { return nil }
            if let validUntil, now >= validUntil { return nil }
            return lease
        }
    }

    let state: Mutex<State>
    let metrics: LockMetrics

    /// Creates an inactive lock handle; nothing is sent to the backend until ``acquire()``.
    ///
    /// Metrics go to `metricsFactory`, by default the one bootstrapped in `MetricsSystem`.
    public init(
        _ name: LockName,
        locker: any Locker,
        holder: String? = nil,
        options: LockOptions = LockOptions(),
        logger: Logger = Logger(label: "lockheed"),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws(LockheedError) {
        let holder = holder ?? Lock.uniqueHolderID()
        try Validation.validateHolder(holder)
        self.name = name
        self.holder = holder
        self.locker = locker
        var logger = logger
        logger[metadataKey: "lock"] = "\(name)"
        logger[metadataKey: "holder"] = "\(holder)"
        logger[metadataKey: "backend"] = "\(locker.backendName)"
        self.logger = logger
        self.metrics = LockMetrics(backend: locker.backendName, factory: metricsFactory ?? MetricsSystem.factory)
        self.state = Mutex(State(options: options))
    }

    /// Creates an inactive lock handle, validating `name`.
    public convenience init(
        _ name: String,
        locker: any Locker,
        holder: String? = nil,
        options: LockOptions = LockOptions(),
        logger: Logger = Logger(label: "lockheed"),
        metricsFactory: (any MetricsFactory)? = nil
    ) throws(LockheedError) {
        try self.init(
            LockName(name), locker: locker, holder: holder, options: options, logger: logger,
            metricsFactory: metricsFactory)
    }

    /// A handle dropped while it renews a lease stops renewing and releases the lease in the
    /// background; one acquired with `keepAlive(false)` is left to expire.
    deinit {
        let renewing = state.withLock { state in
            state.keeper?.cancel()
            for continuation in state.subscribers.values { continuation.finish() }
            return state.keeper != nil && state.lease != nil
        }
        if renewing {
            Task { [locker, name, holder] in _ = try? await locker.release(name, holder: holder) }
        }
    }

    /// A holder id unique to this process and handle: `host-pid-random`.
    public static func uniqueHolderID() -> String {
        let host = ProcessInfo.processInfo.hostName.unicodeScalars
            .map {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
                    ? Character($0) : "-"
            }
        let prefix = String(String(host).prefix(200))
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        return "\(prefix.isEmpty ? "host" : prefix)-\(ProcessInfo.processInfo.processIdentifier)-\(random)"
    }

    // MARK: State

    /// The current lease, or `nil` when not held: never acquired, released, lost, or past its
    /// certain validity (``validUntil``) without a successful renewal.
    public var lease: Lease? { state.withLock { $0.heldLease(at: .now) } }
    /// Whether this handle holds a lease that is certainly still valid.
    public var isHeld: Bool { lease != nil }
    /// The current lease's fencing token, while ``isHeld``.
    public var fencingToken: UInt64? { lease?.fencingToken }
    /// Until when, on this machine's `ContinuousClock`, the lease is certainly valid: the send
    /// time of the last successful acquire or renewal plus its duration. `nil` when not held or
    /// when the lease never expires (see ``lease``).
    public var validUntil: ContinuousClock.Instant? {
        state.withLock { $0.heldLease(at: .now) == nil ? nil : $0.validUntil }
    }

    // MARK: Operations

    /// Acquires the lock, retrying as the options say, and (with `keepAlive`) renews it in the
    /// background until ``release()``, loss, or the handle is dropped.
    ///
    /// A grant whose reply arrives after its lease's certain validity is not trusted: it is
    /// retried as a refresh (the same holder keeps its token) or, without retries, thrown as
    /// ``LockheedError/timedOut(_:)``. When an attempt fails in a way that leaves unknown whether
    /// the backend granted it (timed out, cancelled, unavailable) and acquiring gives up, the
    /// possible grant is released in the background, holder-scoped, so no orphan lease remains.
    @discardableResult
    public func acquire() async throws(LockheedError) -> Lease {
        let lease = try await acquireWithRetry()
        let options = self.options
        if options.keepAlive, let interval = options.effectiveRenewInterval {
            startBackgroundRenewal(every: interval)
        }
        return lease
    }

    /// Renews the lease now. Throws ``LockheedError/lost(_:holder:)`` (and emits
    /// ``LockEvent/lost(_:)``) when it is gone; never re-acquires.
    @discardableResult
    public func renew() async throws(LockheedError) -> Lease {
        guard isHeld else { throw .notHeld(name) }
        let duration = options.duration
        let sent = ContinuousClock.now
        do {
            let lease = try await locker.renew(name, holder: holder, duration: duration)
            recordGrant(lease, sent: sent, duration: duration, interval: options.effectiveRenewInterval)
            metrics.record("renew", succeeded: true, since: sent)
            emit(.renewed(lease))
            return lease
        } catch {
            metrics.record("renew", succeeded: false, since: sent)
            if error.code == .lost { markLost(error) } else { emit(.renewFailed(error)) }
            throw error
        }
    }

    /// Stops background renewal and releases the lease. Idempotent.
    ///
    /// The release is sent even from a cancelled task (it is clean-up: a backend that would
    /// abandon a cancelled call must not leave the lease behind). When the backend cannot be
    /// reached the error is thrown and the handle stops counting the lease as held once its
    /// certain validity passes.
    public func release() async throws(LockheedError) {
        await stopBackgroundRenewal()
        let start = ContinuousClock.now
        do {
            // An unstructured task does not inherit the caller's cancellation.
            _ = try await Task { [locker, name, holder] () -> Result<Bool, LockheedError> in
                do throws(LockheedError) {
                    return .success(try await locker.release(name, holder: holder))
                } catch {
                    return .failure(error)
                }
            }.value.get()
            state.withLock {
                $0.lease = nil
                $0.validUntil = nil
                $0.nextRenewal = nil
            }
            metrics.record("release", succeeded: true, since: start)
            emit(.released)
        } catch {
            metrics.record("release", succeeded: false, since: start)
            emit(.releaseFailed(error))
            throw error
        }
    }

    /// Acquires the lock, runs `body` while renewing in a child task, and always releases.
    ///
    /// The lease's certain validity (``validUntil`` less a safety margin of half the time
    /// between a renewal and expiry) is a hard deadline: when a renewal answers "not owner", or
    /// no renewal has succeeded by then (a backend call that hangs is abandoned, not awaited),
    /// `body` is cancelled, and this method throws ``LockheedError/lost(_:holder:)`` once
    /// `body` has returned.
    public func withLock<T: Sendable>(_ body: @Sendable (HeldLock) async throws -> T) async throws -> T {
        let lease = try await acquireWithRetry()
        let held = HeldLock(name: name, holder: holder, lease: lease)
        let interval = options.effectiveRenewInterval
        let outcome: Result<T, any Error>
        do {
            let value = try await withoutActuallyEscaping(body) { body in
                try await withThrowingTaskGroup(of: ScopedOutcome<T>.self) { group in
                    group.addTask { .body(try await body(held)) }
                    if let interval {
                        group.addTask {
                            try await Lock.keepAlive(every: interval) { self }
                            return .keeperStopped
                        }
                    }
                    while let next = try await group.next() {
                        if case .body(let value) = next {
                            group.cancelAll()
                            return value
                        }
                    }
                    throw LockheedError.cancelled
                }
            }
            outcome = .success(value)
        } catch {
            outcome = .failure(error)
        }
        do {
            if isHeld {
                try await release()
            } else {
                // Lost: release what the backend may still hold, without waiting on a backend
                // that may be the reason for the loss.
                try await abandoning(at: .now + .seconds(2), "release after loss") { [self] () throws(LockheedError) in
                    try await release()
                }
            }
        } catch {
            logger.warning("release after withLock failed: \(error)")
        }
        return try outcome.get()
    }

    // MARK: Internals

    private enum ScopedOutcome<T: Sendable>: Sendable {
        case body(T)
        case keeperStopped
    }

    /// Records a successful acquire or renewal sent at `sent`.
    func recordGrant(_ lease: Lease, sent: ContinuousClock.Instant, duration: Duration?, interval: Duration?) {
        state.withLock {
            $0.lease = lease
            $0.validUntil = duration.map { sent + $0 }
            $0.nextRenewal = interval.map { sent + $0 }
        }
    }

    func markLost(_ error: LockheedError) {
        state.withLock {
            $0.lease = nil
            $0.validUntil = nil
            $0.nextRenewal = nil
        }
        metrics.recordLoss()
        emit(.lost(error))
    }
}
