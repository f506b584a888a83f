import Foundation

/// The stored state of one lock: what every backend persists, and what listing returns.
public struct LockState: Sendable, Hashable, Codable {
    /// The lock's name.
    public var name: LockName
    /// Mutex or shared; set by the first holder when no lease is active.
    public var type: LockType
    /// The leases, ordered by fencing token; at most one per holder.
    public var leases: [Lease]
    /// Ordered tags without duplicates.
    public var tags: [String]
    /// The last fencing token granted; it only ever grows, across releases and expiries.
    public var fencingCounter: UInt64
    /// A reservation that is not a lease (the Go original's, on Kubernetes), or `nil`.
    public var reservation: LockReservation? = nil

    /// Creates a state; a new lock has no leases, no tags and a zero counter.
    public init(
        name: LockName, type: LockType = .mutex, leases: [Lease] = [], tags: [String] = [], fencingCounter: UInt64 = 0
    ) {
        self.name = name
        self.type = type
        self.leases = leases
        self.tags = tags
        self.fencingCounter = fencingCounter
    }

    /// The leases that have not expired at `now`.
    public func activeLeases(at now: Date) -> [Lease] {
        leases.filter { !$0.isExpired(at: now) }
    }

    /// Whether any lease is active at `now`.
    public func isAcquired(at now: Date) -> Bool {
        leases.contains { !$0.isExpired(at: now) }
    }

    /// The active lease of `holder` at `now`, if any.
    public func lease(of holder: String, at now: Date) -> Lease? {
        leases.first { $0.holder == holder && !$0.isExpired(at: now) }
    }

    /// This state without the leases that expired by `now`.
    public func pruned(at now: Date) -> LockState {
        var copy = self
        copy.leases = activeLeases(at: now)
        return copy
    }
}

// MARK: - Transitions shared by every backend that stores whole states

extension LockState {
    /// Grants (or refreshes) `request.holder`'s lease at `now`, the one rule every backend follows.
    ///
    /// Expired leases are dropped first. The same holder again refreshes its lease and keeps its
    /// token. A conflict throws ``LockheedError/held(_:holders:)`` (or `typeMismatch`) unless
    /// `request.force` matches the state, in which case the other leases are removed. Each new
    /// lease takes the next fencing token.
    @discardableResult
    public mutating func acquire(_ request: AcquireRequest, now: Date) throws(LockheedError) -> Lease {
        // In place, and only when something expired: no new array on the hot path.
        if leases.contains(where: { $0.isExpired(at: now) }) { leases.removeAll { $0.isExpired(at: now) } }
        let expiresAt = request.duration.map { now.addingTimeInterval($0.timeInterval) }
        if let index = leases.firstIndex(where: { $0.holder == request.holder }) {
            leases[index].expiresAt = expiresAt
            if leases.count == 1 { type = request.type }
            applyTags(request)
            return leases[index]
        }
        if let refusal = refusal(of: request) {
            guard let force = request.force, force.matches(self, at: now) else { throw refusal }
            leases.removeAll()
        }
        if leases.isEmpty { type = request.type }
        fencingCounter += 1
        let lease = Lease(
            holder: request.holder, acquiredAt: now, expiresAt: expiresAt, fencingToken: fencingCounter)
        leases.append(lease)
        applyTags(request)
        return lease
    }

    /// Extends `holder`'s lease to `now + duration` (`nil`: no expiry).
    ///
    /// Throws ``LockheedError/lost(_:holder:)`` when the lease is gone or expired: a renew never
    /// re-acquires.
    @discardableResult
    public mutating func renew(holder: String, duration: Duration?, now: Date) throws(LockheedError) -> Lease {
        guard let index = leases.firstIndex(where: { $0.holder == holder }), !leases[index].isExpired(at: now)
        else { throw .lost(name, holder: holder) }
        leases[index].expiresAt = duration.map { now.addingTimeInterval($0.timeInterval) }
        return leases[index]
    }

    /// Removes `holder`'s lease only, and returns it; `nil` when it held none (idempotent).
    @discardableResult
    public mutating func release(holder: String) -> Lease? {
        guard let index = leases.firstIndex(where: { $0.holder == holder }) else { return nil }
        return leases.remove(at: index)
    }

    /// Removes every lease when `condition` is `nil` or matches at `now`; returns the active
    /// leases removed. The fencing counter is kept.
    public mutating func breakLeases(if condition: Condition?, now: Date) -> [Lease] {
        if let condition, !condition.matches(self, at: now) { return [] }
        let removed = activeLeases(at: now)
        leases.removeAll()
        return removed
    }

    /// The error refusing `request` against the active leases, or `nil` when it can be granted.
    private func refusal(of request: AcquireRequest) -> LockheedError? {
        guard !leases.isEmpty else { return nil }
        switch (type, request.type) {
        case (.shared(let existing), .shared(let requested)):
            if existing != requested { return .typeMismatch(name, existing: type, requested: request.type) }
            return leases.count >= existing ? .held(name, holders: leases) : nil
        default:
            return .held(name, holders: leases)
        }
    }

    /// Tags of a granted request: replaced with `resetTags`, else an ordered union.
    private mutating func applyTags(_ request: AcquireRequest) {
        if request.resetTags {
            tags = request.tags
        } else {
            for tag in request.tags where !tags.contains(tag) { tags.append(tag) }
        }
    }
}
