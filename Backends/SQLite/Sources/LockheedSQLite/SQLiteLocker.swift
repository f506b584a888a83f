import Foundation
import LockheedCore
import Logging
import NIOPosix
import Synchronization

/// A ``LockheedCore/Locker`` on a SQLite database file, shared by every process on one machine.
///
/// The file uses a WAL journal; every operation is one `BEGIN IMMEDIATE` transaction (read the
/// lock's state, apply the core's transition, write it back), so acquire, renew and release are
/// atomic across processes. Lease times come from this machine's wall clock.
///
/// ```swift
/// let locker = try SQLiteLocker(path: SQLiteLocker.defaultPath)
/// let lock = try Lock("nightly-report", locker: locker)
/// ```
///
/// Opening is synchronous (it reads the header and may create the schema): do it at startup.
/// Every later call runs on the locker's own worker thread, never on Swift's cooperative pool.
public final class SQLiteLocker: Locker {
    /// The database file.
    public let path: String
    /// The options this locker was opened with.
    public let configuration: SQLiteConfiguration

    // Soundness: `SQLiteLockStore` (and its C handle) is not Sendable. It lives only inside this
    // Mutex, so no two threads ever use it at once, and it is only reached from `worker`, a
    // one-thread NIOThreadPool: blocking SQLite calls (disk I/O, busy waits of up to
    // `busyTimeout`) run there and never occupy a cooperative-pool thread. `nil` once shut down.
    private let store: Mutex<SQLiteLockStore?>
    private let worker: NIOThreadPool
    private let isShutDown = Atomic<Bool>(false)
    private let notifier: ChangeNotifier
    private let logger = Logger(label: "lockheed.sqlite")

    /// Opens (creating if needed) the database at `path`.
    ///
    /// Throws ``LockheedCore/LockheedError/unavailable(_:)`` for a missing directory,
    /// ``LockheedCore/LockheedError/forbidden(_:)`` for an unwritable one,
    /// ``LockheedCore/LockheedError/incompatibleStorage(_:)`` for a file that is not a Lockheed
    /// database or has a newer schema (left unchanged), and
    /// ``LockheedCore/LockheedError/timedOut(_:)`` when another connection keeps the file locked
    /// beyond the busy timeout. The directory of ``defaultPath`` is created on first use.
    public init(path: String, configuration: SQLiteConfiguration = .init()) throws(LockheedError) {
        if path == Self.defaultPath { try Self.createDirectory(of: path) }
        self.path = path
        self.configuration = configuration
        store = Mutex(try SQLiteLockStore(path: path, configuration: configuration, logger: logger))
        let canonical = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        notifier = SQLiteNotifiers.notifier(for: canonical)
        worker = NIOThreadPool(numberOfThreads: 1)
        worker.start()
    }

    deinit {
        if !isShutDown.exchange(true, ordering: .relaxed) { worker.shutdownGracefully { _ in } }
    }

    /// `"sqlite"`.
    public var backendName: String { "sqlite" }

    /// Shared locks, other processes' changes, and early wake-ups for changes made in this process.
    public var capabilities: LockerCapabilities { [.sharedLocks, .crossProcess, .changeNotification] }

    /// Grants or refreshes a lease in one transaction.
    ///
    /// A new lease's fencing token is the larger of the stored counter + 1 and the wall clock in
    /// microseconds since 1970 (+ 1). Tokens strictly rise while the counter is stored, and a
    /// lock whose counter was lost (a new lock, a deleted row, a deleted, re-created or older
    /// restored file) restarts above every token issued before, unless the wall clock was
    /// stepped back by more than the time since the lock's last grant.
    public func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        try await update(request.name) { state, now throws(LockheedError) in
            var current = state ?? LockState(name: request.name)
            let stored = current.fencingCounter
            let floor = max(stored, SQLiteLockStore.fencingFloor(at: now))
            current.fencingCounter = floor
            let lease = try current.acquire(request, now: now)
            // A refresh of the holder's own lease is not a grant: its counter stays as stored.
            if lease.fencingToken != floor &+ 1 { current.fencingCounter = stored }
            state = current
            return StoredTime.roundTripped(lease)
        }
    }

    /// Extends the holder's lease, or throws ``LockheedCore/LockheedError/lost(_:holder:)``.
    public func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await update(name) { state, now throws(LockheedError) in
            guard var current = state else { throw .lost(name, holder: holder) }
            let lease = try current.renew(holder: holder, duration: duration, now: now)
            state = current
            return StoredTime.roundTripped(lease)
        }
    }

    /// Removes the holder's lease only.
    public func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await update(name) { state, _ in
            guard var current = state else { return false }
            let removed = current.release(holder: holder)
            state = current
            return removed != nil
        }
    }

    /// Removes every lease when `condition` matches; the fencing counter is kept.
    public func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await update(name) { state, now in
            guard var current = state else { return [] }
            let removed = current.breakLeases(if: condition, now: now)
            state = current
            return removed
        }
    }

    /// The state of `name` without expired leases, or `nil` if it was never stored.
    public func state(of name: LockName) async throws(LockheedError) -> LockState? {
        try await onWorker { store throws(LockheedError) in
            try store.read(name)?.pruned(at: Date())
        }
    }

    /// Every stored lock matching `condition`, without expired leases. A lock whose stored
    /// state is malformed is logged and left out, so the others stay listed.
    public func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        let logger = self.logger
        return try await onWorker { store throws(LockheedError) in
            let states = try store.readAll { error in
                logger.warning("skipping a lock whose stored state cannot be read", metadata: ["error": "\(error)"])
            }
            let now = Date()
            return states.map { $0.pruned(at: now) }.filter { condition?.matches($0, at: now) ?? true }
        }
    }

    /// Returns at once if a locker of this process changed `name` after `since`, else when one
    /// does, or after `timeout`: changes made by other processes are found by the caller's next
    /// poll.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await notifier.wait(for: name, since: since, timeout: timeout)
    }

    /// Closes the database connection and stops the worker thread.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        // Close on the worker, after any call already queued there.
        _ = try? await worker.runIfActive { self.store.withLock { $0 = nil } }
        try? await worker.shutdownGracefully()
    }

    // MARK: Running on the worker thread

    private func update<T: Sendable>(
        _ name: LockName, _ body: @escaping @Sendable (inout LockState?, Date) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        let (result, changed) = try await onWorker { store throws(LockheedError) in try store.update(name, body) }
        if changed { notifier.notify(name) }
        return result
    }

    /// Opens `path` again after the file this locker had open was deleted, renamed or replaced,
    /// so no operation continues on an unlinked file. Leases granted in the old file are not in
    /// the new one: their renewals throw ``LockheedCore/LockheedError/lost(_:holder:)``.
    private static func reopen(_ path: String, _ configuration: SQLiteConfiguration, logger: Logger)
        throws(LockheedError) -> SQLiteLockStore
    {
        logger.warning(
            "the database file was removed or replaced while open; opening the file now at its path",
            metadata: ["path": "\(path)"])
        do {
            return try SQLiteLockStore(path: path, configuration: configuration, logger: logger)
        } catch {
            throw .unavailable(
                "database \(path) was removed or replaced while open, and opening it again failed: \(error)")
        }
    }

    private func onWorker<T: Sendable>(
        _ work: @escaping @Sendable (SQLiteLockStore) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        let path = self.path
        guard !isShutDown.load(ordering: .relaxed) else {
            throw .unavailable("SQLite locker on \(path) was shut down")
        }
        let (configuration, logger) = (self.configuration, self.logger)
        let result: Result<T, LockheedError>
        do {
            result = try await worker.runIfActive {
                self.store.withLock { store -> Result<T, LockheedError> in
                    guard var current = store else {
                        return .failure(.unavailable("SQLite locker on \(path) was shut down"))
                    }
                    do throws(LockheedError) {
                        if current.connection.hasMoved {
                            current = try Self.reopen(path, configuration, logger: logger)
                            store = current
                        }
                        return .success(try work(current))
                    } catch {
                        return .failure(error)
                    }
                }
            }
        } catch is CancellationError where Task.isCancelled {
            throw .cancelled
        } catch {
            throw .unavailable("SQLite locker on \(path) was shut down")
        }
        return try result.get()
    }
}
