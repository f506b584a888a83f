import Foundation
import LockheedCore
import Logging
import NIOPosix
import Synchronization

/// Whole lock states in one SQLite database file, shared by every process on one machine: the
/// storage under ``SQLiteLocker``.
///
/// Every ``update(_:_:)`` is one `BEGIN IMMEDIATE` transaction (read the lock's state, apply the
/// transition, write what changed), so operations are atomic across processes. Lease times come
/// from this machine's wall clock; fencing tokens from the stored counter and the clock (see
/// ``SQLiteLocker``).
///
/// Where it runs: an operation first runs on the caller's thread, with SQLite told not to wait
/// for other connections, so it occupies that thread for one transaction at most (tens of
/// microseconds, the cost of a commit). When the database is busy (another connection holds the
/// write lock), or another task of this process is using the connection, the operation is
/// handed to the store's own worker thread, which waits up to the busy timeout; blocking waits
/// never occupy Swift's cooperative pool.
public final class SQLiteLockStore: LockStateStore {
    /// The database file.
    public let path: String
    /// The options the file was opened with.
    public let configuration: SQLiteConfiguration

    // Soundness: `SQLiteTables` (and its C handle) is not Sendable. It lives only inside this
    // Mutex, so no two threads ever use it at once: the caller's thread takes the Mutex only
    // when it is free (`withLockIfAvailable`), the worker thread waits for it. `nil` once shut
    // down.
    private let tables: Mutex<SQLiteTables?>
    private let worker: NIOThreadPool
    private let isShutDown = Atomic<Bool>(false)
    private let notifier: ChangeNotifier
    private let logger = Logger(label: "lockheed.sqlite")

    /// Opens (creating if needed) the database at `path`; see ``SQLiteLocker``'s initializer.
    public init(path: String, configuration: SQLiteConfiguration = .init()) throws(LockheedError) {
        if path == SQLiteLocker.defaultPath { try SQLiteLocker.createDirectory(of: path) }
        self.path = path
        self.configuration = configuration
        let tables = try SQLiteTables(path: path, configuration: configuration, logger: logger)
        tables.connection.waitWhenBusy(false)
        self.tables = Mutex(tables)
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

    // MARK: LockStateStore

    /// Applies `transition` to `name`'s state in one `BEGIN IMMEDIATE` transaction, with the
    /// fencing floor of ``SQLiteLocker``, and wakes this process's waiters when a lease went away
    /// (a grant or a renewal frees nothing, so it wakes nobody). Specialized for the core's
    /// transitions, so the hot path looks up no generic metadata.
    @_specialize(where Transition == LockTransitions.Acquire)
    @_specialize(where Transition == LockTransitions.Release)
    @_specialize(where Transition == LockTransitions.Renew)
    public func update<Transition: LockTransition>(
        _ name: LockName, _ transition: Transition
    ) async throws(LockheedError) -> Transition.Outcome {
        guard !isShutDown.load(ordering: .relaxed) else { throw shutDownError }
        // Built only when needed: the worker's closure escapes, so it is allocated.
        let (result, vacated): (Transition.Outcome, Bool)
        if let here = runHere({ tables throws(LockheedError) in try tables.update(name, transition) }) {
            (result, vacated) = try here.get()
        } else {
            (result, vacated) = try await onWorker { tables throws(LockheedError) in try tables.update(name, transition)
            }
        }
        if vacated { notifier.notify(name) }
        return result
    }

    /// `name`'s stored state (expired leases included) and this machine's time.
    public func read(_ name: LockName) async throws(LockheedError) -> (state: LockState?, now: Date) {
        try await run { tables throws(LockheedError) in (try tables.read(name), Date()) }
    }

    /// Every stored state in one snapshot, and this machine's time. A lock whose stored state is
    /// malformed is logged and left out, so the others stay listed.
    public func readAll() async throws(LockheedError) -> (states: [LockState], now: Date) {
        let logger = self.logger
        return try await run { tables throws(LockheedError) in
            let states = try tables.readAll { error in
                logger.warning("skipping a lock whose stored state cannot be read", metadata: ["error": "\(error)"])
            }
            return (states, Date())
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
        _ = try? await worker.runIfActive { self.tables.withLock { $0 = nil } }
        try? await worker.shutdownGracefully()
    }

    // MARK: Where work runs

    /// Runs `work` on the caller's thread when the connection is free and the database not busy,
    /// else on the worker thread.
    private func run<T: Sendable>(
        _ work: @escaping @Sendable (SQLiteTables) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        guard !isShutDown.load(ordering: .relaxed) else { throw shutDownError }
        if let result = runHere(work) { return try result.get() }
        return try await onWorker(work)
    }

    private var shutDownError: LockheedError { .unavailable("SQLite locker on \(path) was shut down") }

    /// The outcome of `work` run at once on this thread, or `nil` when it must go to the worker:
    /// the connection is in use, the file moved (reopening may wait), or SQLite answered
    /// `SQLITE_BUSY` (the transaction was rolled back, so `work` runs again from the start).
    private func runHere<T: Sendable>(
        _ work: (SQLiteTables) throws(LockheedError) -> T
    ) -> Result<T, LockheedError>? {
        let outcome = tables.withLockIfAvailable { slot -> Result<T, LockheedError>? in
            guard let current = slot else { return .failure(shutDownError) }
            guard !current.connection.hasMoved else { return nil }
            current.connection.waitWhenBusy(false)
            do throws(LockheedError) {
                return .success(try work(current))
            } catch {
                return current.connection.lastErrorWasBusy ? nil : .failure(error)
            }
        }
        return outcome ?? nil
    }

    private func onWorker<T: Sendable>(
        _ work: @escaping @Sendable (SQLiteTables) throws(LockheedError) -> T
    ) async throws(LockheedError) -> T {
        let (path, configuration, logger) = (self.path, self.configuration, self.logger)
        let result: Result<T, LockheedError>
        do {
            result = try await worker.runIfActive {
                self.tables.withLock { slot -> Result<T, LockheedError> in
                    guard var current = slot else {
                        return .failure(.unavailable("SQLite locker on \(path) was shut down"))
                    }
                    do throws(LockheedError) {
                        if current.connection.hasMoved {
                            current = try Self.reopen(path, configuration, logger: logger)
                            slot = current
                        }
                        current.connection.waitWhenBusy(true)
                        defer { current.connection.waitWhenBusy(false) }
                        return .success(try work(current))
                    } catch {
                        return .failure(error)
                    }
                }
            }
        } catch is CancellationError where Task.isCancelled {
            throw .cancelled
        } catch {
            throw shutDownError
        }
        return try result.get()
    }

    /// Opens `path` again after the file this store had open was deleted, renamed or replaced,
    /// so no operation continues on an unlinked file. Leases granted in the old file are not in
    /// the new one: their renewals throw ``LockheedCore/LockheedError/lost(_:holder:)``.
    private static func reopen(_ path: String, _ configuration: SQLiteConfiguration, logger: Logger)
        throws(LockheedError) -> SQLiteTables
    {
        logger.warning(
            "the database file was removed or replaced while open; opening the file now at its path",
            metadata: ["path": "\(path)"])
        do {
            return try SQLiteTables(path: path, configuration: configuration, logger: logger)
        } catch {
            throw .unavailable(
                "database \(path) was removed or replaced while open, and opening it again failed: \(error)")
        }
    }
}
