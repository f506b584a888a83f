import Foundation
import LockheedCore
import Logging

/// The leaders of a lock over time, as an `AsyncSequence` of `Leader?` (`nil`: nobody leads).
///
/// The first element is the leader when iteration starts; each later one differs from the one
/// before (another holder or another term). The lock is read every `interval`; on backends with
/// ``LockerCapabilities/changeNotification`` a change wakes the reader earlier. A leader that
/// dies without releasing is seen leaving when its lease expires. Backend failures are logged
/// and retried at the next read; iteration ends when the task is cancelled, and throws other
/// errors.
public struct LeaderChanges: AsyncSequence, Sendable {
    /// A leader, or `nil` when nobody leads.
    public typealias Element = Leader?

    /// The lock observed.
    public let name: LockName
    /// The backend.
    public let locker: any Locker
    /// The longest time between two reads.
    public let interval: Duration
    let logger: Logger

    /// Observes `name` on `locker`, reading at least every `interval`.
    public init(
        _ name: LockName, locker: any Locker, every interval: Duration,
        logger: Logger = Logger(label: "lockheed.leader")
    ) {
        self.name = name
        self.locker = locker
        self.interval = Swift.max(interval, .milliseconds(1))
        self.logger = logger
    }

    /// Starts observing.
    public func makeAsyncIterator() -> Iterator { Iterator(changes: self) }

    /// Reads the lock until its leader differs from the last one returned.
    public struct Iterator: AsyncIteratorProtocol {
        let changes: LeaderChanges
        var last: Leader??
        var lastRead: ContinuousClock.Instant?

        init(changes: LeaderChanges) { self.changes = changes }

        /// The next leader change; `nil` when the task is cancelled.
        public mutating func next() async throws -> Leader?? {
            let locker = changes.locker
            let name = changes.name
            while !Task.isCancelled {
                if let lastRead {
                    do {
                        if locker.capabilities.contains(.changeNotification) {
                            try await locker.waitForChange(of: name, since: lastRead, timeout: changes.interval)
                        } else {
                            try await sleepCancellable(for: changes.interval)
                        }
                    } catch {
                        if Task.isCancelled { return nil }
                        do { try await sleepCancellable(for: changes.interval) } catch { return nil }
                    }
                }
                let readAt = ContinuousClock.now
                lastRead = readAt
                let leader: Leader?
                do {
                    leader = try await locker.state(of: name).flatMap { Leader(state: $0) }
                } catch {
                    if error.code == .cancelled { return nil }
                    guard error.isBackendFailure else { throw error }
                    changes.logger.debug("reading the leader failed: \(error)")
                    continue
                }
                if let last, last == leader { continue }
                last = .some(leader)
                return .some(leader)
            }
            return nil
        }
    }
}
