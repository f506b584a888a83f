import Foundation
import LockheedCore
import Logging
import NIOHTTP1
import Synchronization

/// A ``Locker`` keeping each lock in a ConfigMap `<prefix>-<lockname>` of one namespace, wire
/// compatible with the Go original, or (``KubernetesConfiguration/kind`` `.lease`) in a
/// `coordination.k8s.io/v1` Lease of that name, wire compatible with client-go's `LeaseLock`;
/// concurrency control by `metadata.resourceVersion` alone.
///
/// Both kinds run the one locking algorithm below over a narrow storage seam (`LockStorage`:
/// read one lock's object, create it, update it guarded by its resourceVersion, list, watch), as
/// client-go's leader election runs over `resourcelock.Interface`.
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
    /// The resource each lock lives in (ConfigMaps or Leases).
    let storage: LockStorage
    let expiry: LeaseExpiry
    let logger: Logger
    let notifier = ChangeNotifier()
    /// The last seen object (its JSON) per lock, for one-request renewals and releases.
    let cache = Mutex<[LockName: Data]>([:])
    /// The highest fencing counter this locker has written per lock, one source of the counter
    /// after a loss.
    let highestCounters = Mutex<[LockName: UInt64]>([:])

    /// Creates a locker with its own HTTP client; call ``shutdown()`` when done. Throws
    /// ``LockheedError/invalidConfiguration(_:)`` for unusable settings or certificates.
    public init(configuration: KubernetesConfiguration, logger: Logger = Logger(label: "lockheed.kubernetes"))
        throws(LockheedError)
    {
        self.configuration = configuration
        self.api = try KubernetesAPI(configuration: configuration)
        self.storage = configuration.kind == .lease ? .leases : .configMaps
        self.expiry = LeaseExpiry(clockIdentity: configuration.clockIdentity)
        self.logger = logger
    }

    /// `"kubernetes"`.
    public var backendName: String { "kubernetes" }

    /// Change notification by watch, cross-process; shared locks in ConfigMaps only (a Lease has
    /// one holder).
    public var capabilities: LockerCapabilities {
        storage.holdsSharedLocks
            ? [.sharedLocks, .changeNotification, .crossProcess] : [.changeNotification, .crossProcess]
    }

    /// API requests this locker has sent, retries and watches included.
    public var requestCount: Int { api.requestCount }

    /// Wakes local waiters and shuts the HTTP client down.
    public func shutdown() async {
        notifier.notifyAll()
        await api.shutdown()
    }

    /// The object (ConfigMap or Lease) name of `name`: `<prefix>-<name>`.
    public func configMapName(of name: LockName) -> String { "\(configuration.prefix)-\(name.rawValue)" }

    /// The path of the lock objects' collection in the configured namespace.
    var collectionPath: String { "\(storage.groupPath)/namespaces/\(configuration.namespace)/\(storage.resource)" }

    // MARK: Locker

    /// Grants or refreshes a lease: GET then PUT, or POST for a new lock. The cache is not used:
    /// before an acquire someone else has usually written, and a stale PUT would cost a third request.
    ///
    /// A lock whose counter is gone (a new or deleted ConfigMap, a record every copy of whose
    /// counter was stripped, a forced acquire over a malformed record) continues above the etcd
    /// revision: see ``continuedCounter(_:read:floor:leaseTokens:)``. For a ConfigMap that does not exist that
    /// revision costs one more request (a List of at most one item).
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        if let problem = LockName.problem(with: request.name.rawValue) {
            throw .invalidName(request.name.rawValue, reason: problem)
        }
        if !storage.holdsSharedLocks, case .shared = request.type {
            throw .incompatibleStorage(
                "a Kubernetes Lease has one holder: shared locks need ConfigMaps (kubernetes://NAMESPACE without kind=lease)"
            )
        }
        return try await modify(request.name, useCache: false, seeding: true) {
            object, now, instant, floor throws(LockheedError) in
            var original: LockRecord?
            if let object {
                if let reservation = object.activeReservation(at: now), reservation.holder != request.holder {
                    throw .held(request.name, holders: [reservation.asRefusingLease])
                }
                do throws(LockheedError) { original = try object.lockRecord(name: request.name) } catch {
                    guard request.force != nil else { throw error }
                    self.logger.warning(
                        "overwriting the malformed state of lock \(request.name) under a force condition")
                }
            }
            var state =
                original.map { self.expiry.state(of: $0, name: request.name, now: now, instant: instant) }
                ?? LockState(name: request.name)
            state.fencingCounter = self.continuedCounter(
                request.name, read: original?.fencingCounter ?? object?.annotatedCounter, floor: floor,
                leaseTokens: state.fencingCounter)
            let granted = try state.acquire(request, now: now)
            let (record, stamped) = self.expiry.record(
                for: state, original: original, changedHolder: request.holder, duration: request.duration)
            return .write(record, stamped ?? granted)
        }
    }

    /// Extends the holder's lease with one PUT when the cached object is current.
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await modify(name) { object, now, instant, floor throws(LockheedError) in
            guard let object, let original = try object.lockRecord(name: name) else {
                throw .lost(name, holder: holder)
            }
            var state = self.writableState(of: original, name: name, now: now, instant: instant, floor: floor)
            let renewed = try state.renew(holder: holder, duration: duration, now: now)
            let (record, stamped) = self.expiry.record(
                for: state, original: original, changedHolder: holder, duration: duration)
            return .write(record, stamped ?? renewed)
        }
    }

    /// Removes the holder's lease with one PUT when the cached object is current. The last lease
    /// of a shared lock leaving writes the lock back as a mutex, which the Go original can use.
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await modify(name) { object, now, instant, floor throws(LockheedError) in
            guard let object, let original = try object.lockRecord(name: name) else { return .done(false) }
            var state = self.writableState(of: original, name: name, now: now, instant: instant, floor: floor)
            guard state.release(holder: holder) != nil else { return .done(false) }
            let (record, _) = self.expiry.record(for: state, original: original, changedHolder: nil, duration: nil)
            return .write(record, true)
        }
    }

    /// Removes every lease when `condition` is `nil` or matches. Without a condition it also
    /// replaces a malformed state with an empty one: the administrator's way out. The fencing
    /// counter is kept (from the annotation when the record is unreadable).
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await modify(name) { object, now, instant, floor throws(LockheedError) in
            guard let object else { return .done([]) }
            let original: LockRecord?
            do throws(LockheedError) { original = try object.lockRecord(name: name) } catch {
                guard condition == nil else { throw error }
                self.logger.warning("replacing the malformed state of lock \(name) on an unconditional break")
                let counter = self.continuedCounter(name, read: object.annotatedCounter, floor: floor, leaseTokens: 0)
                return .write(
                    LockRecord(name: name.rawValue, lockType: "mutex", leases: [:], fencingCounter: counter), [])
            }
            guard let original, !original.leases.isEmpty else { return .done([]) }
            var state = self.writableState(of: original, name: name, now: now, instant: instant, floor: floor)
            let removed = state.breakLeases(if: condition, now: now)
            guard state.leases.count != original.leases.count else { return .done(removed) }
            let (record, _) = self.expiry.record(for: state, original: original, changedHolder: nil, duration: nil)
            return .write(record, removed)
        }
    }

    /// The state of `record` to write back, its counter continued as ``continuedCounter(_:read:floor:leaseTokens:)``
    /// says, so that no write ever stores a counter below a token already issued.
    func writableState(
        of record: LockRecord, name: LockName, now: Date, instant: ContinuousClock.Instant, floor: UInt64
    ) -> LockState {
        var state = expiry.state(of: record, name: name, now: now, instant: instant)
        state.fencingCounter = continuedCounter(
            name, read: record.fencingCounter, floor: floor, leaseTokens: state.fencingCounter)
        return state
    }

    /// The counter to continue from: the maximum of every source there is (the record's
    /// `fencingCounter`, our annotation, the leases' tokens, the highest counter this locker has
    /// seen for the lock). When neither the record nor the annotation holds a counter (the
    /// ConfigMap is new or was deleted, or every copy was stripped), also at least `floor`, the
    /// etcd revision the lock was read at.
    ///
    /// Why that is safe: every grant is a write, and etcd's revision is global to the cluster,
    /// rises with every write and is never reused, also across deletes. A counter seeded at a
    /// revision `r` issues `r + 1` in a write whose revision is above `r`, and each later grant
    /// adds one to the counter and at least one to the revision, so every token issued is at
    /// most the revision of the write that issued it. Whatever lost the counter (a delete, a
    /// stripping write) is itself a write after those, so a revision read after the loss is at
    /// least every earlier token, and `floor + 1` is above all of them.
    func continuedCounter(_ name: LockName, read: UInt64?, floor: UInt64, leaseTokens: UInt64) -> UInt64 {
        let remembered = highestCounters.withLock { $0[name] } ?? 0
        return max(read ?? floor, leaseTokens, remembered)
    }

    /// Records `counter` as seen for `name`: a later loss never takes this locker below it.
    func rememberCounter(_ counter: UInt64?, of name: LockName) {
        guard let counter else { return }
        highestCounters.withLock { $0[name] = max($0[name] ?? 0, counter) }
    }

    /// Reads the lock's ConfigMap (one GET) and returns its state without expired leases, with
    /// the Go original's reservation, if one stands, in ``LockState/reservation``.
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        guard let object = try await fetch(name) else { return nil }
        return try readState(of: object, name: name, now: Date())
    }

    /// The state `object` holds, for reading (`show`, `list`).
    func readState(of object: any LockObject, name: LockName, now: Date) throws(LockheedError) -> LockState {
        var state =
            try object.lockRecord(name: name).map { expiry.state(of: $0, name: name, now: now, instant: .now) }
            ?? LockState(name: name, fencingCounter: object.annotatedCounter ?? 0)
        state.reservation = object.activeReservation(at: now)
        return state.pruned(at: now)
    }

    /// Lists the ConfigMaps labelled `lockheed/lock` (whatever the label's value: the Go original
    /// writes it empty) page by page. The lock name is the ConfigMap name without `<prefix>-`. A
    /// ConfigMap of another prefix, or whose state is malformed, is left out with a log line
    /// saying why (`lockheed -v` shows them), so one bad lock cannot hide the others.
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        var states: [LockState] = []
        for object in try await listObjects(query: [("labelSelector", ConfigMapObject.lockLabel)]) {
            let objectName = object.metadata.name ?? ""
            let name: LockName
            switch lockName(ofConfigMap: objectName) {
            case .success(let found): name = found
            case .failure(let reason):
                logger.info("skipping ConfigMap \(objectName) in the listing: \(reason)")
                continue
            }
            let now = Date()
            do {
                let state = try readState(of: object, name: name, now: now)
                if condition?.matches(state, at: now) ?? true { states.append(state) }
            } catch {
                logger.warning("skipping lock \(name) in the listing: \(error)")
            }
        }
        return states.sorted { $0.name < $1.name }
    }

    /// Why a ConfigMap name is not one of this locker's locks.
    struct NotALock: Error, CustomStringConvertible {
        var description: String
    }

    /// The lock name of ConfigMap `objectName`: the name without `<prefix>-`. Any name the Go
    /// original can store is accepted (``LockName/stored(_:)``), not only the names our
    /// own acquires take.
    func lockName(ofConfigMap objectName: String) -> Result<LockName, NotALock> {
        let prefix = configuration.prefix + "-"
        guard objectName.hasPrefix(prefix) else {
            return .failure(NotALock(description: "its name does not start with the prefix \"\(prefix)\""))
        }
        do throws(LockheedError) {
            return .success(try LockName.stored(String(objectName.dropFirst(prefix.count))))
        } catch {
            return .failure(NotALock(description: "\(error)"))
        }
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
        seeding: Bool = false,
        _ decide: ((any LockObject)?, Date, ContinuousClock.Instant, UInt64) throws(LockheedError) -> Step<T>
    ) async throws(LockheedError) -> T {
        let configMapName = configMapName(of: name)
        var object: (any LockObject)?
        var known = false
        var fromCache = false
        if useCache, let cached = cache.withLock({ $0[name] }), let parsed = storage.decode(cached) {
            (object, known, fromCache) = (parsed, true, true)
        }
        var conflicts = 0
        while true {
            if !known {
                object = try await fetch(name)
                (known, fromCache) = (true, false)
            }
            var floor = object?.counterFloor ?? 0
            if object == nil, seeding { floor = try await currentRevision() }
            let step: Step<T>
            let now = Date()
            do { step = try decide(object, now, .now, floor) } catch {
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
                object ?? storage.make(configMapName, configuration.namespace, name)
            target.setLock(record, lockName: name, now: now)
            let creating = object == nil
            let response =
                creating
                ? try await api.send(
                    .POST, path: collectionPath, body: target.json(), verb: "create",
                    resource: "\(storage.resource)/\(configMapName)")
                : try await api.send(
                    .PUT, path: objectPath(name), body: target.json(), verb: "update",
                    resource: "\(storage.resource)/\(configMapName)")
            switch response.status {
            case 200, 201:
                remember(name, json: response.body)
                rememberCounter(record.fencingCounter, of: name)
                notifier.notify(name)
                return result
            case 409:
                conflicts += 1
                guard conflicts <= configuration.maxConflictRetries else {
                    throw .unavailable(
                        "\(storage.resource)/\(configMapName) kept changing under us: \(conflicts) conflicting writes in a row"
                    )
                }
                if !fromCache { try await sleepCancellable(for: KubernetesAPI.conflictBackoff(attempt: conflicts)) }
                known = false
            case 404 where !creating && response.apiStatus.details?.kind != "namespaces":
                forget(name)
                (object, known, fromCache) = (nil, true, false)
            default:
                throw response.error(
                    verb: creating ? "create" : "update", resource: "\(storage.resource)/\(configMapName)",
                    namespace: configuration.namespace)
            }
        }
    }

    /// GETs the lock's ConfigMap; `nil` when it does not exist.
    func fetch(_ name: LockName) async throws(LockheedError) -> (any LockObject)? {
        let resource = "\(storage.resource)/\(configMapName(of: name))"
        let response = try await api.send(.GET, path: objectPath(name), verb: "get", resource: resource)
        switch response.status {
        case 200:
            guard let object = storage.decode(response.body) else {
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
        -> [any LockObject]
    {
        var objects: [any LockObject] = []
        var token: String?
        var restarted = false
        while true {
            var pageQuery = query + [("limit", String(pageSize))]
            if let token { pageQuery.append(("continue", token)) }
            let response = try await api.send(
                .GET, path: collectionPath, query: pageQuery, verb: "list", resource: storage.resource)
            if response.status == 410, token != nil, !restarted {
                (objects, token, restarted) = ([], nil, true)
                continue
            }
            guard response.status == 200, let list = storage.decodeList(response.body) else {
                throw response.error(verb: "list", resource: storage.resource, namespace: configuration.namespace)
            }
            objects.append(contentsOf: list.items)
            guard let next = list.metadata.continue, !next.isEmpty else { return objects }
            token = next
        }
    }

    /// The etcd revision now: a List of at most one ConfigMap carries it in `metadata.resourceVersion`
    /// (a List without a resourceVersion is read from etcd, never from the watch cache).
    func currentRevision() async throws(LockheedError) -> UInt64 {
        let response = try await api.send(
            .GET, path: collectionPath, query: [("limit", "1")], verb: "list", resource: storage.resource)
        guard response.status == 200, let list = KubernetesJSON.decode(ObjectList<JSONValue>.self, from: response.body)
        else { throw response.error(verb: "list", resource: storage.resource, namespace: configuration.namespace) }
        guard let text = list.metadata.resourceVersion, let revision = UInt64(text)
        else {
            logger.warning(
                "the API server's resourceVersion is not a number: fencing tokens restart from the last seen")
            return 0
        }
        return revision
    }

    func objectPath(_ name: LockName) -> String { "\(collectionPath)/\(configMapName(of: name))" }

    func remember(_ name: LockName, json: Data) {
        cache.withLock { $0[name] = json }
    }

    func forget(_ name: LockName) {
        cache.withLock { $0[name] = nil }
        expiry.forget(name)
    }
}
