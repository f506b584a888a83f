import CoreMetrics
import Foundation
import LockheedCore
import Logging
import ServiceLifecycle
import Synchronization

/// A swift-service-lifecycle `Service` that campaigns for a named lock and, while it leads,
/// runs `leading`.
///
/// ```swift
/// let election = try LeaderElection("scheduler", locker: locker, identity: "web-1") { leadership in
///     try await scheduler.run(fencingToken: leadership.fencingToken)
/// }
/// let group = ServiceGroup(services: [election], gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
///
/// Each campaign is a term with its own ``Lock`` (holder id `<id>-<term>`), held with
/// ``Lock/withLock(_:)``: `leading` is cancelled as soon as the lease is lost, before its
/// certain validity ends, and the next term is a new grant with a higher fencing token, never a
/// silent refresh of the old lease. After a term ends (lost, or `leading` returned) the election
/// waits ``LeaderElectionOptions/backoff`` and campaigns again. An error thrown by `leading`
/// (other than on cancellation) ends ``run()`` with that error.
///
/// On graceful shutdown `leading` is cancelled, the lease is released at once (so a standby
/// takes over without waiting for expiry), and ``run()`` returns.
public final class LeaderElection: Service, Sendable {
    /// The lock campaigned for.
    public let name: LockName
    /// The backend.
    public let locker: any Locker
    /// The base of this election's holder ids; each term holds as `<id>-<term>`.
    public let id: String
    /// The identity announced in the lock's tags while leading (see ``Leader/identityTagPrefix``).
    public let identity: String?
    /// How the lease is held and sought.
    public let options: LeaderElectionOptions

    let leading: @Sendable (Leadership) async throws -> Void
    let logger: Logger
    let metricsFactory: any MetricsFactory
    let metrics: LeaderElectionMetrics
    let current = Mutex<Leadership?>(nil)
    let tags: [String]

    /// Creates an election; nothing is sent to the backend until ``run()``.
    ///
    /// Throws ``LockheedError/invalidConfiguration(_:)``, ``LockheedError/invalidTag(_:reason:)``
    /// (an identity that makes no valid tag) or ``LockheedError/invalidHolder(_:reason:)``.
    public init(
        _ name: LockName,
        locker: any Locker,
        identity: String? = nil,
        id: String? = nil,
        options: LeaderElectionOptions = LeaderElectionOptions(),
        logger: Logger = Logger(label: "lockheed.leader"),
        metricsFactory: (any MetricsFactory)? = nil,
        leading: @escaping @Sendable (Leadership) async throws -> Void
    ) throws(LockheedError) {
        try options.validate()
        let id = id ?? Lock.uniqueHolderID()
        try Validation.validateHolder("\(id)-\(Int.max)")
        self.tags = try identity.map { identity throws(LockheedError) in [try Leader.identityTag(identity)] } ?? []
        self.name = name
        self.locker = locker
        self.id = id
        self.identity = identity
        self.options = options
        self.leading = leading
        var logger = logger
        logger[metadataKey: "lock"] = "\(name)"
        logger[metadataKey: "election"] = "\(id)"
        self.logger = logger
        let factory = metricsFactory ?? MetricsSystem.factory
        self.metricsFactory = factory
        self.metrics = LeaderElectionMetrics(lock: name.rawValue, backend: locker.backendName, factory: factory)
    }

    /// Creates an election, validating `name`.
    public convenience init(
        _ name: String,
        locker: any Locker,
        identity: String? = nil,
        id: String? = nil,
        options: LeaderElectionOptions = LeaderElectionOptions(),
        logger: Logger = Logger(label: "lockheed.leader"),
        metricsFactory: (any MetricsFactory)? = nil,
        leading: @escaping @Sendable (Leadership) async throws -> Void
    ) throws(LockheedError) {
        try self.init(
            LockName(name), locker: locker, identity: identity, id: id, options: options, logger: logger,
            metricsFactory: metricsFactory, leading: leading)
    }

    /// This election's current term while it leads, else `nil`.
    public var leadership: Leadership? { current.withLock { $0 } }

    /// Whether this election leads now.
    public var isLeader: Bool { leadership != nil }

    /// Campaigns and leads until graceful shutdown or cancellation; see the type's description.
    public func run() async throws {
        metrics.set(leading: false)
        try await campaign()
    }

    /// Who leads now, as the backend says.
    public func currentLeader() async throws(LockheedError) -> Leader? {
        try await locker.state(of: name).flatMap { Leader(state: $0) }
    }

    /// The leader changes of this election's lock, polled every `interval` (by default the
    /// renew interval), earlier on backends with change notification.
    public func leaderChanges(every interval: Duration? = nil) -> LeaderChanges {
        LeaderChanges(name, locker: locker, every: interval ?? options.effectiveRenewInterval, logger: logger)
    }

    // MARK: Terms

    private func campaign() async throws {
        var terms = 0
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            terms += 1
            let term = terms
            let lock = try Lock(
                name, locker: locker, holder: "\(id)-\(term)", options: options.lockOptions(tags: tags),
                logger: logger, metricsFactory: metricsFactory)
            logger.debug("campaigning", metadata: ["term": "\(term)"])
            var failure: (any Error)?
            switch await serve(term, with: lock) {
            case .success:
                logger.info("resigned: leading returned", metadata: ["term": "\(term)"])
            case .failure(let error as LockheedError):
                switch error.code {
                case .lost: logger.warning("leadership lost", metadata: ["term": "\(term)"])
                case .cancelled: break
                default: if !error.isBackendFailure && !stopping { failure = error }
                }
            case .failure(let error):
                if !(error is CancellationError) && !stopping { failure = error }
            }
            // A release sent from a cancelled task may be refused by the backend client (when
            // cancellation raced with the start of a term): send it again from one that is not.
            if lock.isHeld {
                await Task { try? await lock.release() }.value
            }
            if let failure {
                logger.error("leading failed: \(failure)", metadata: ["term": "\(term)"])
                throw failure
            }
            if stopping { break }
            try? await Task.sleep(for: options.backoff)
        }
    }

    /// Whether the election is being stopped: cancelled, or shutting down gracefully.
    private var stopping: Bool { Task.isCancelled || Task.isShuttingDownGracefully }

    /// Runs one term in a task of its own: graceful shutdown cancels only the campaign (while not
    /// leading) or only the `leading` closure (see ``lead(_:term:)``), so ``Lock/withLock(_:)``
    /// releases the lease from a task that is not cancelled.
    private func serve(_ term: Int, with lock: Lock) async -> Result<Void, any Error> {
        let task = Task { try await lock.withLock { held in try await self.lead(held, term: term) } }
        return await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await task.result
            } onGracefulShutdown: {
                if !self.isLeader { task.cancel() }
            }
        } onCancel: {
            task.cancel()
        }
    }

    private func lead(_ held: HeldLock, term: Int) async throws {
        let leadership = Leadership(
            name: name, holder: held.holder, identity: identity, fencingToken: held.fencingToken,
            since: held.lease.acquiredAt, term: term)
        current.withLock { $0 = leadership }
        metrics.transition(toLeader: true)
        logger.info(
            "became leader",
            metadata: ["term": "\(term)", "fencing_token": "\(held.fencingToken)", "holder": "\(held.holder)"])
        defer {
            current.withLock { $0 = nil }
            metrics.transition(toLeader: false)
            logger.info("stopped leading", metadata: ["term": "\(term)", "fencing_token": "\(held.fencingToken)"])
        }
        let leading = self.leading
        try await cancelWhenGracefulShutdown { try await leading(leadership) }
    }
}
