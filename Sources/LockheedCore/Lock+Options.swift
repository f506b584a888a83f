import Synchronization

/// The options builder: each call changes ``LockOptions`` for the next acquire or renewal.
extension Lock {
    /// The options in force.
    public var options: LockOptions { state.withLock { $0.options } }

    /// Changes options; they apply from the next acquire or renewal.
    @discardableResult
    public func configure(_ update: (inout LockOptions) -> Void) -> Lock {
        state.withLock { update(&$0.options) }
        return self
    }

    /// Sets how long each grant or renewal lasts; `nil` for no expiry.
    @discardableResult public func duration(_ duration: Duration?) -> Lock { configure { $0.duration = duration } }
    /// Sets how often to renew (must be shorter than the duration).
    @discardableResult public func renewInterval(_ interval: Duration?) -> Lock {
        configure { $0.renewInterval = interval }
    }
    /// Adds tags to set on acquire.
    @discardableResult public func tags(_ tags: [String]) -> Lock {
        configure { options in for tag in tags where !options.tags.contains(tag) { options.tags.append(tag) } }
    }
    /// Replaces the lock's tags with this handle's tags on acquire.
    @discardableResult public func resetTags(_ reset: Bool = true) -> Lock { configure { $0.resetTags = reset } }
    /// Allows taking the lock over from other holders when its state matches `condition`.
    @discardableResult public func force(if condition: Condition?) -> Lock { configure { $0.force = condition } }
    /// Sets how acquiring retries a busy lock.
    @discardableResult public func retry(_ policy: RetryPolicy) -> Lock { configure { $0.retry = policy } }
    /// Makes this a shared lock admitting up to `maxHolders` holders.
    @discardableResult public func shared(maxHolders: Int) -> Lock {
        configure { $0.type = .shared(maxHolders: maxHolders) }
    }
    /// Sets whether ``acquire()`` renews in the background.
    @discardableResult public func keepAlive(_ keepAlive: Bool) -> Lock { configure { $0.keepAlive = keepAlive } }
}
