/// What the body of ``Lock/withLock(_:)`` knows about the lease it runs under.
public struct HeldLock: Sendable, Hashable {
    /// The lock held.
    public let name: LockName
    /// This holder's identifier.
    public let holder: String
    /// The lease as granted.
    public let lease: Lease

    /// The fencing token of this grant: pass it to the protected resource with every write, so
    /// it can refuse writes carrying a token lower than one it has seen.
    public var fencingToken: UInt64 { lease.fencingToken }
}
