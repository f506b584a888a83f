import LockheedCore

/// A ``LockheedCore/Locker`` on a SQLite database file, shared by every process on one machine:
/// the core's one algorithm (``LockheedCore/StateStoreLocker``) on a ``SQLiteLockStore``.
///
/// The file uses a WAL journal; every operation is one `BEGIN IMMEDIATE` transaction (read the
/// lock's state, apply the core's transition, write it back), so acquire, renew and release are
/// atomic across processes. Lease times come from this machine's wall clock.
///
/// A new lease's fencing token is the larger of the stored counter + 1 and the wall clock in
/// microseconds since 1970 (+ 1). Tokens strictly rise while the counter is stored, and a lock
/// whose counter was lost (a new lock, a deleted row, a deleted, re-created or older restored
/// file) restarts above every token issued before, unless the wall clock was stepped back by
/// more than the time since the lock's last grant.
///
/// ```swift
/// let locker = try SQLiteLocker(path: SQLiteLocker.defaultPath)
/// let lock = try Lock("nightly-report", locker: locker)
/// ```
///
/// Opening is synchronous (it reads the header and may create the schema): do it at startup.
/// An operation runs on the caller's thread while the database is not busy (one transaction,
/// tens of microseconds), and on the store's own worker thread when it must wait for another
/// connection, never blocking Swift's cooperative pool for longer than one transaction.
public typealias SQLiteLocker = StateStoreLocker<SQLiteLockStore>

extension StateStoreLocker where Store == SQLiteLockStore {
    /// Opens (creating if needed) the database at `path`.
    ///
    /// Throws ``LockheedCore/LockheedError/unavailable(_:)`` for a missing directory,
    /// ``LockheedCore/LockheedError/forbidden(_:)`` for an unwritable one,
    /// ``LockheedCore/LockheedError/incompatibleStorage(_:)`` for a file that is not a Lockheed
    /// database or has a newer schema (left unchanged), and
    /// ``LockheedCore/LockheedError/timedOut(_:)`` when another connection keeps the file locked
    /// beyond the busy timeout. The directory of ``defaultPath`` is created on first use.
    public init(path: String, configuration: SQLiteConfiguration = .init()) throws(LockheedError) {
        self.init(store: try SQLiteLockStore(path: path, configuration: configuration))
    }

    /// The database file.
    public var path: String { store.path }
    /// The options this locker was opened with.
    public var configuration: SQLiteConfiguration { store.configuration }
}
