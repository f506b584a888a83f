import Foundation
import LockheedCore

/// What the `leading` closure of a ``LeaderElection`` knows about the term it runs in.
///
/// Each term is a new lease under a new holder id, so it always carries a fencing token above
/// every earlier term's, this process's included.
public struct Leadership: Sendable, Hashable {
    /// The lock the election campaigns for.
    public let name: LockName
    /// The holder id of this term's lease: the election's id followed by `-<term>`.
    public let holder: String
    /// The human-readable identity this election announces, if any.
    public let identity: String?
    /// The fencing token of this term: pass it to the resources the leader writes to.
    public let fencingToken: UInt64
    /// When the lease was granted, by the backend's clock.
    public let since: Date
    /// This election's term counter: 1 for its first campaign, then one more per campaign.
    public let term: Int
}
