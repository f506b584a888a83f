import Foundation

/// One holder's claim on a lock.
public struct Lease: Sendable, Hashable, Codable {
    /// The holder's identifier (the Go original's instance id).
    public var holder: String
    /// When the lease was granted, by the backend's clock.
    public var acquiredAt: Date
    /// When the lease ends unless renewed, by the backend's clock; `nil` means never.
    public var expiresAt: Date?
    /// A number that rises on every grant of this lock, takeovers included. Pass it to the
    /// resource you protect so it can refuse writes from a holder that lost the lock.
    public var fencingToken: UInt64

    /// Creates a lease.
    public init(holder: String, acquiredAt: Date, expiresAt: Date?, fencingToken: UInt64) {
        self.holder = holder
        self.acquiredAt = acquiredAt
        self.expiresAt = expiresAt
        self.fencingToken = fencingToken
    }

    /// Whether the lease has ended at `now`.
    public func isExpired(at now: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }

    /// `holder until <time>` or `holder (no expiry)`, for messages.
    public var summary: String {
        if let expiresAt {
            return "\(holder) until \(expiresAt.formatted(.iso8601)) (token \(fencingToken))"
        }
        return "\(holder) with no expiry (token \(fencingToken))"
    }
}

extension Duration {
    /// The duration in seconds, as Foundation's `TimeInterval`.
    public var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded up so a lease is never shorter than asked;
    /// saturating at `Int64.max` and `Int64.min` (about 292 million years), never trapping.
    /// Requests are bounded far below that (``AcquireRequest/maximumDuration``).
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        let ms = attoseconds / 1_000_000_000_000_000
        let rest = attoseconds % 1_000_000_000_000_000
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = scaled.addingReportingOverflow(ms + (rest > 0 ? 1 : 0))
        guard !overflowAgain else { return seconds < 0 ? .min : .max }
        return total
    }
}
