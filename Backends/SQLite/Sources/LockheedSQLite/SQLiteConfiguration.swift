/// Options of a ``SQLiteLocker`` connection.
public struct SQLiteConfiguration: Sendable, Hashable {
    /// How long an operation waits for another connection's write lock before throwing
    /// ``LockheedCore/LockheedError/timedOut(_:)``.
    public var busyTimeout: Duration = .seconds(5)
    /// How hard each commit pushes to disk.
    public var synchronous: Synchronous = .normal

    /// SQLite's `PRAGMA synchronous` levels that make sense with a WAL journal.
    public enum Synchronous: Sendable, Hashable {
        /// Commits survive a crash of the process; the last ones may be lost on power failure.
        case normal
        /// Every commit is synced to disk before it returns: survives power failure, slower.
        case full
    }

    /// The defaults: a 5-second busy timeout and `synchronous = NORMAL`.
    public init() {}
}
