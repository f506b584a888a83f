import Foundation
import LockheedCore
import Logging
import NIOHTTP1
import Synchronization

/// A ``Locker`` keeping each lock in a ConfigMap `<prefix>-<lockname>` of one namespace, wire
/// compatible with the Go original, with concurrency control by `metadata.resourceVersion` alone.
///
/// An uncontended acquire of an existing lock costs a GET and a PUT; a renew or release of a lock
/// whose last seen version is still current costs one PUT. See `Backends/Kubernetes/README.md`
/// for the RBAC Role it needs and how expiry is judged across pods.
///
/// ```swift
/// let locker = try KubernetesLocker(configuration: .inCluster())
/// defer { Task { await locker.shutdown() } }
/// try await Lock("nightly", locker: locker).withLock { held in … }
/// ```
public final class KubernetesLocker: Locker {
    /// The configuration this locker was made with.
    public let configuration: KubernetesConfiguration
    let api: KubernetesAPI
    let expiry: LeaseExpiry
    let logger: Logger
    let notifier = ChangeNotifier()
    /// The last seen object (its JSON) per lock, for one-request renewals and releases.
    let cache = Mutex<[LockName: Data]>([:])

    /// Creates a locker with its own HTTP client; call ``shutdown()`` when done. Throws
    /// ``LockheedError/invalidConfiguration(_:)`` for unusable settings or certificates.
    public init(configuration: KubernetesConfiguration, logger: Logger = Logger(label: "lockheed.kubernetes"))
        throws(LockheedError)
    {
        self.configuration = configuration
        self.api = try KubernetesAPI(configuration: configuration)
        self.expiry = LeaseExpiry(clockIdentity: configuration.clockIdentity)
        self.logger = logger
    }

    /// `"kubernetes"`.
    public var backendName: String { "kubernetes" }

    /// Shared locks, change notification by watch, cross-process.
    public var capabilities: LockerCapabilities { [.sharedLocks, .changeNotification, .crossProcess] }

    /// API requests this locker has sent, retries and watches included.
    public var requestCount: Int { api.requestCount }

    /// Wakes local waiters and shuts the HTTP client down.
    public func shutdown() async {
        notifier.notifyAll()
        await api.shutdown()
    }

    /// The ConfigMap name of `name`: `<prefix>-<name>`.
    public func configMapName(of name: LockName) -> String { "\(configuration.prefix)-\(name.rawValue)" }

    // MARK: Locker

    /// Grants or refreshes a lease: GET then PUT, or POST for a new lock. The cache is not used:
    /// before an acquire someone else has usually written, and a stale PUT would cost a third request.
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        try await modify(request.name, useCache: false) { object, now, instant throws(LockheedError) in
            var original: LockRecord?
            if let object {
                if let reservation = object.activeReservation(at: now), reservation.holder != request.holder {
                    throw .held(
                        request.name,
                        holders: [
                            Lease(
                                holder: reservation.holder, acquiredAt: now, expiresAt: reservation.until,
                                fencingToken: 0)
                        ])
                }
                do throws(LockheedError) { original = try self.record(in: object, name: request.name) } catch {
                    guard request.force != nil else { throw error }
                    self.logger.warning(
                        "overwriting the malformed state of lock \(request.name) under a force condition")
                }
            }
            var state =
                original.map { self.expiry.state(of: $0, name: request.name, now: now, instant: instant) }
                ?? LockState(name: request.name)
            let granted = try state.acquire(request, now: now)
            let (record, stamped) = self.expiry.record(
                for: state, original: original, changedHolder: request.holder, duration: request.duration)
            return .write(record, stamped ?? granted)
        }
    }

    /// Extends the holder's lease with one PUT when the cached object is current.
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await modify(name) { object, now, instant throws(LockheedError) in
            guard let object, let original = try self.record(in: object, name: name) else {
                throw .lost(name, holder: holder)
            }
            var state = self.expiry.state(of: original, name: name, now: now, instant: instant)
            let renewed = try state.renew(holder: holder, duration: duration, now: now)
            let (record, stamped) = self.expiry.record(
                for: state, original: original, changedHolder: holder, duration: duration)
            return .write(record, stamped ?? renewed)
        }
    }

    /// Removes the holder's lease with one PUT when the cached object is current.
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await modify(name) { object, now, instant throws(LockheedError) in
            guard let object, let original = try self.record(in: object, name: name) else { return .done(false) }
            var state = self.expiry.state(of: original, name: name, now: now, instant: instant)
            guard state.release(holder: holder) != nil else { return .done(false) }
            let (record, _) = self.expiry.record(for: state, original: original, changedHolder: nil, duration: nil)
            return .write(record, true)
        }
    }

    /// Removes every lease when `condition` is `nil` or matches. Without a condition it also
    /// replaces a malformed state with an empty one: the administrator's way out.
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await modify(name) { object, now, instant throws(LockheedError) in
            guard let object else { return .done([]) }
            let original: LockRecord?
            do throws(LockheedError) { original = try self.record(in: object, name: name) } catch {
                guard condition == nil else { throw error }
                self.logger.warning("replacing the malformed state of lock \(name) on an unconditional break")
                return .write(LockRecord(name: name.rawValue, lockType: "mutex", leases: [:]), [])
            }
            guard let original, !original.leases.isEmpty else { return .done([]) }
            var state = self.expiry.state(of: original, name: name, now: now, instant: instant)
            let removed = state.breakLeases(if: condition, now: now)
            guard state.leases.count != original.leases.count else { return .done(removed) }
            let (record, _) = self.expiry.record(for: state, original: original, changedHolder: nil, duration: nil)
            return .write(record, removed)
        }
    }

    /// Reads the lock's ConfigMap (one GET) and returns its state without expired leases.
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        guard let object = try await fetch(name) else { return nil }
        let now = Date()
        guard let record = try record(in: object, name: name) else { return LockState(name: name) }
        return expiry.state(of: record, name: name, now: now, instant: .now).pruned(at: now)
    }

    /// Lists the ConfigMaps labelled `lockheed/lock` page by page; a lock whose state is
    /// malformed is left out with a warning, so one bad lock cannot hide the others.
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        var states: [LockState] = []
        for object in try await listObjects(query: [("labelSelector", ConfigMapObject.lockLabel)]) {
            guard let value = object.labels[ConfigMapObject.lockLabel], let name = try? LockName(value),
                object.name == configMapName(of: name)
            else { continue }
            let now = Date()
            do {
                let record = try record(in: object, name: name)
                let state =
                    record.map { expiry.state(of: $0, name: name, now: now, instant: .now) }
                    ?? LockState(name: name)
                let pruned = state.pruned(at: now)
                if condition?.matches(pruned, at: now) ?? true { states.append(pruned) }
            } catch {
                logger.warning("skipping lock \(name) in the listing: \(error)")
            }
        }
        return states.sorted { $0.name < $1.name }
    }

    // MARK: Reading and writing one ConfigMap

    enum Step<T> {
        /// Nothing to write.
        case done(T)
        /// Store this record, then return the value.
        case write(LockRecord, T)
    }

    /// Runs `decide` on the current object (the cached one first) and writes its record with the
    /// object's resourceVersion; a 409 re-reads and decides again, with jittered backoff.
    ///
    /// Only a write is ever based on the cache, because the resourceVersion check makes a stale
    /// cache harmless there; any other outcome from the cache is decided again on a fresh read.
    func modify<T>(
        _ name: LockName,
        useCache: Bool = true,
        _ decide: (ConfigMapObject?, Date, ContinuousClock.Instant) throws(LockheedError) -> Step<T>
    ) async throws(LockheedError) -> T {
        let configMapName = configMapName(of: name)
        var object: ConfigMapObject?
        var known = false
        var fromCache = false
        if useCache, let cached = cache.withLock({ $0[name] }), let parsed = ConfigMapObject(json: cached) {
            (object, known, fromCache) = (parsed, true, true)
        }
        var conflicts = 0
        while true {
            if !known {
                object = try await fetch(name)
                (known, fromCache) = (true, false)
            }
            let step: Step<T>
            do { step = try decide(object, Date(), .now) } catch {
                if fromCache {
                    known = false
                    continue
                }
                throw error
            }
            let record: LockRecord
            let result: T
            switch step {
            case .done(let value):
                if fromCache {
                    known = false
                    continue
                }
                return value
            case .write(let newRecord, let value): (record, result) = (newRecord, value)
            }
            var target =
                object ?? ConfigMapObject(name: configMapName, namespace: configuration.namespace, lockName: name)
            target.setLock(record, lockName: name)
            let creating = object == nil
            let response =
                creating
                ? try await api.send(
                    .POST, path: api.collectionPath, body: target.json(), verb: "create",
                    resource: "configmaps/\(configMapName)")
                : try await api.send(
                    .PUT, path: objectPath(name), body: target.json(), verb: "update",
                    resource: "configmaps/\(configMapName)")
            switch response.status {
            case 200, 201:
                remember(name, json: response.body)
                notifier.notify(name)
                return result
            case 409:
                conflicts += 1
                guard conflicts <= configuration.maxConflictRetries else {
                    throw .unavailable(
                        "configmaps/\(configMapName) kept changing under us: \(conflicts) conflicting writes in a row")
                }
                if !fromCache { try await sleepCancellable(for: KubernetesAPI.conflictBackoff(attempt: conflicts)) }
                known = false
            case 404 where !creating && response.apiStatus.details?.kind != "namespaces":
                forget(name)
                (object, known, fromCache) = (nil, true, false)
            default:
                throw response.error(
                    verb: creating ? "create" : "update", resource: "configmaps/\(configMapName)",
                    namespace: configuration.namespace)
            }
        }
    }

    /// GETs the lock's ConfigMap; `nil` when it does not exist.
    func fetch(_ name: LockName) async throws(LockheedError) -> ConfigMapObject? {
        let resource = "configmaps/\(configMapName(of: name))"
        let response = try await api.send(.GET, path: objectPath(name), verb: "get", resource: resource)
        switch response.status {
        case 200:
            guard let object = ConfigMapObject(json: response.body) else {
                throw .backend("the API server sent an unreadable \(resource)")
            }
            remember(name, json: response.body)
            return object
        case 404 where response.apiStatus.details?.kind != "namespaces":
            forget(name)
            return nil
        default:
            throw response.error(verb: "get", resource: resource, namespace: configuration.namespace)
        }
    }

    /// Every object of a paginated list (`limit`/`continue`), restarting once if the continue
    /// token expires (410).
    func listObjects(query: [(String, String)], pageSize: Int = 100) async throws(LockheedError)
        -> [ConfigMapObject]
    {
        var objects: [ConfigMapObject] = []
        var token: String?
        var restarted = false
        while true {
            var pageQuery = query + [("limit", String(pageSize))]
            if let token { pageQuery.append(("continue", token)) }
            let response = try await api.send(
                .GET, path: api.collectionPath, query: pageQuery, verb: "list", resource: "configmaps")
            if response.status == 410, token != nil, !restarted {
                (objects, token, restarted) = ([], nil, true)
                continue
            }
            guard response.status == 200,
                let list = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]
            else { throw response.error(verb: "list", resource: "configmaps", namespace: configuration.namespace) }
            for item in list["items"] as? [[String: Any]] ?? [] { objects.append(ConfigMapObject(fields: item)) }
            let next = (list["metadata"] as? [String: Any])?["continue"] as? String
            guard let next, !next.isEmpty else { return objects }
            token = next
        }
    }

    /// The lock record in `object`; `nil` when it has no `data["lock"]` yet.
    func record(in object: ConfigMapObject, name: LockName) throws(LockheedError) -> LockRecord? {
        guard let text = object.lockText else { return nil }
        return try LockRecord.decode(text, name: name)
    }

    func objectPath(_ name: LockName) -> String { "\(api.collectionPath)/\(configMapName(of: name))" }

    func remember(_ name: LockName, json: Data) {
        cache.withLock { $0[name] = json }
    }

    func forget(_ name: LockName) {
        cache.withLock { $0[name] = nil }
        expiry.forget(name)
    }
}
