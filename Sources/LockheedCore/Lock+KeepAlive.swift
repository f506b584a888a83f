import Synchronization

/// Lease keeping: one loop, used by ``Lock/withLock(_:)`` and by background renewal, that
/// renews ahead of time and declares loss before the lease's certain validity ends.
extension Lock {
    /// The time before ``validUntil`` at which loss is declared: half the time between a
    /// renewal and expiry, so a lost lease stops the holder's work well before it can expire.
    static func margin(duration: Duration, interval: Duration) -> Duration {
        max((duration - interval) / 2, .milliseconds(1))
    }

    /// Renews every `interval` until cancelled (returns) or until the lease is lost (throws
    /// ``LockheedError/lost(_:holder:)`` after emitting ``LockEvent/lost(_:)``). `lock` gives the
    /// handle, or `nil` once it is gone: the loop holds it only while a renewal is in flight, so
    /// background renewal can keep it weakly.
    static func keepAlive(every interval: Duration, _ lock: () -> Lock?) async throws(LockheedError) {
        lock()?.emit(.maintainStarted)
        defer { lock()?.emit(.maintainStopped) }
        var wake = lock()?.nextWake(every: interval)
        while let instant = wake {
            do { try await Task.sleep(until: instant, clock: .continuous) } catch { return }
            wake = try await lock()?.keepAliveStep(every: interval)
        }
    }

    /// Starts renewing in a task that holds this handle only while a renewal is in flight, so
    /// dropping the handle ends it.
    func startBackgroundRenewal(every interval: Duration) {
        let task = Task { [weak self] in
            // A loss is reported through the handle's events; nothing more to do here.
            do throws(LockheedError) { try await Self.keepAlive(every: interval) { [weak self] in self } } catch {}
        }
        let previous = state.withLock { state in
            defer { state.keeper = task }
            return state.keeper
        }
        previous?.cancel()
    }

    func stopBackgroundRenewal() async {
        let keeper = state.withLock { state in
            defer { state.keeper = nil }
            return state.keeper
        }
        keeper?.cancel()
        await keeper?.value
    }

    /// The earlier of the next renewal and the end of the lease's certain validity.
    private func nextWake(every interval: Duration) -> ContinuousClock.Instant {
        let (nextRenewal, deadline) = state.withLock { ($0.nextRenewal, $0.validUntil) }
        let renewal = nextRenewal ?? .now + interval
        guard let deadline, let duration = options.duration else { return renewal }
        return min(renewal, deadline - Self.margin(duration: duration, interval: interval))
    }

    /// One wake-up of the keeper: declares loss at the deadline, renews when due (abandoning a
    /// call still running at the deadline), and returns when to wake next; `nil` when cancelled.
    private func keepAliveStep(every interval: Duration) async throws(LockheedError) -> ContinuousClock.Instant? {
        let duration = options.duration
        let margin = duration.map { Self.margin(duration: $0, interval: interval) } ?? .zero
        let now = ContinuousClock.now
        let (validUntil, nextRenewal) = state.withLock { ($0.validUntil, $0.nextRenewal ?? now) }
        let deadline = validUntil.map { $0 - margin }
        if let deadline, now >= deadline {
            let lost: LockheedError = .lost(name, holder: holder)
            metrics.record("renew", succeeded: false, since: now)
            markLost(lost)
            throw lost
        }
        guard now >= nextRenewal else { return nextWake(every: interval) }
        let sent = now
        do throws(LockheedError) {
            let renewal: @Sendable () async throws(LockheedError) -> Lease = {
                [locker, name, holder] () throws(LockheedError) in
                try await locker.renew(name, holder: holder, duration: duration)
            }
            let lease: Lease
            if let deadline {
                lease = try await abandoning(at: deadline, "renewal", renewal)
            } else {
                lease = try await renewal()
            }
            recordGrant(lease, sent: sent, duration: duration, interval: interval)
            metrics.record("renew", succeeded: true, since: sent)
            emit(.renewed(lease))
        } catch {
            if Task.isCancelled { return nil }
            metrics.record("renew", succeeded: false, since: sent)
            if error.code == .lost {
                markLost(error)
                throw error
            }
            emit(.renewFailed(error))
            let retryAt = ContinuousClock.now + max(interval / 5, .milliseconds(5))
            state.withLock { $0.nextRenewal = retryAt }
        }
        return nextWake(every: interval)
    }
}
