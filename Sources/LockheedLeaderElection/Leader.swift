import Foundation
import LockheedCore

/// Who leads an election, as any process observing the lock sees it.
public struct Leader: Sendable, Hashable {
    /// The holder id of the leader's lease.
    public let holder: String
    /// The identity the leader announced in the lock's tags, if any.
    public let identity: String?
    /// The fencing token of the leader's term.
    public let fencingToken: UInt64
    /// When the leader's lease was granted, by the backend's clock.
    public let since: Date

    /// The prefix of the tag announcing the leader's identity: `leader=<identity>`.
    ///
    /// An election with an identity acquires with this single tag and `resetTags`, so the lock's
    /// tags always name the current leader (and no stale one: an election without identity
    /// clears them). Tags follow ``Validation/validateTag(_:)``, so an identity is 1 to 56
    /// characters of letters, digits and `- _ . : / = @`.
    public static let identityTagPrefix = "leader="

    /// The leader of `state`: the newest active lease and the identity tag, or `nil` when the
    /// lock has no active lease at `now`.
    public init?(state: LockState, now: Date = Date()) {
        guard let lease = state.leases.filter({ !$0.isExpired(at: now) }).max(by: { $0.fencingToken < $1.fencingToken })
        else { return nil }
        holder = lease.holder
        fencingToken = lease.fencingToken
        since = lease.acquiredAt
        identity = state.tags.first { $0.hasPrefix(Self.identityTagPrefix) }
            .map { String($0.dropFirst(Self.identityTagPrefix.count)) }
    }

    /// The tag announcing `identity`; throws ``LockheedError/invalidTag(_:reason:)`` when the
    /// identity makes an invalid tag.
    public static func identityTag(_ identity: String) throws(LockheedError) -> String {
        let tag = identityTagPrefix + identity
        guard !identity.isEmpty else { throw .invalidTag(tag, reason: "the leader identity must not be empty") }
        try Validation.validateTag(tag)
        return tag
    }
}
