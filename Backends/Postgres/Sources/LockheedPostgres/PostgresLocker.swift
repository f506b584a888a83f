import LockheedCore
import Logging

/// A ``LockheedCore/Locker`` on PostgreSQL, shared by every process that reaches the server.
///
/// Each operation is one transaction applying the core's ``LockheedCore/LockState`` transitions
/// with the server's clock (``PostgresLockStore``); releases, takeovers and breaks wake waiters
/// through `LISTEN`/`NOTIFY`.
///
/// ```swift
/// let locker = try PostgresLocker(configuration: PostgresConfiguration(url: "postgres://app@db/app"))
/// let lock = try Lock("nightly-report", locker: locker)
/// ```
public typealias PostgresLocker = StateStoreLocker<PostgresLockStore>

extension StateStoreLocker where Store == PostgresLockStore {
    /// A locker on `configuration`'s server; nothing connects before the first operation.
    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "lockheed.postgres"))
        throws(LockheedError)
    {
        self.init(store: try PostgresLockStore(configuration: configuration, logger: logger))
    }

    /// Where this locker connects.
    public var configuration: PostgresConfiguration { store.configuration }
}
