import Foundation
import Logging
import Synchronization

/// The acquire loop: retries a held lock as the retry policy says and a failing backend for at
/// most ``LockOptions/backendTimeout``, and cleans up grants it may have received unawares.
extension Lock {
    func acquireWithRetry() async throws(LockheedError) -> Lease {
        let options = self.options
        try options.validate()
        let request = try AcquireRequest(
            name: name, holder: holder, type: options.type, duration: options.duration,
            tags: options.tags, resetTags: options.resetTags, force: options.force)
        await finishCleanup()
        let heldBefore = isHeld
        let start = ContinuousClock.now
        var attempt = 0
        var failingSince: ContinuousClock.Instant?
        var backendFailures = 0
        while true {
            attempt += 1
            let sent = ContinuousClock.now
            do throws(LockheedError) {
                if Task.isCancelled { throw .cancelled }
                let lease = try await locker.acquire(request)
                if Task.isCancelled { throw .cancelled }
                if let duration = options.duration, let interval = options.effectiveRenewInterval,
                    ContinuousClock.now >= sent + duration - Self.margin(duration: duration, interval: interval)
                {
                    throw .timedOut("the grant arrived after its lease's certain validity ended")
                }
                recordGrant(lease, sent: sent, duration: options.duration, interval: options.effectiveRenewInterval)
                metrics.record("acquire", succeeded: true, since: sent)
                emit(.acquired(lease))
                return lease
            } catch {
                metrics.record("acquire", succeeded: false, since: sent)
                emit(.acquireFailed(error))
                let now = ContinuousClock.now
                let backendFailure = error.isBackendFailure
                if backendFailure {
                    failingSince = failingSince ?? sent
                    backendFailures += 1
                } else {
                    failingSince = nil
                    backendFailures = 0
                }
                var delay: Duration
                if backendFailure, let limit = options.backendTimeout, let since = failingSince {
                    guard now - since < limit else {
                        throw giveUp(error, mayHaveGranted: !heldBefore, failingFor: now - since)
                    }
                    delay = min(Self.backendRetry.delay(afterAttempt: backendFailures), since + limit - now)
                } else {
                    guard error.isTransient else { throw giveUp(error, mayHaveGranted: !heldBefore) }
                    if let maxAttempts = options.retry.maxAttempts, attempt >= maxAttempts {
                        throw giveUp(error, mayHaveGranted: !heldBefore)
                    }
                    delay = options.retry.delay(afterAttempt: attempt)
                }
                if let deadline = options.retry.deadline {
                    let remaining = start + deadline - now
                    if remaining <= .zero { throw giveUp(error, mayHaveGranted: !heldBefore) }
                    delay = min(delay, remaining)
                }
                do throws(LockheedError) {
                    if backendFailure {
                        try await sleepCancellable(for: delay)
                    } else {
                        try await locker.waitForChange(of: name, since: sent, timeout: delay)
                    }
                } catch {
                    throw giveUp(error, mayHaveGranted: !heldBefore)
                }
            }
        }
    }

    /// How a failing backend is retried within ``LockOptions/backendTimeout``: backoff from
    /// 100 ms to 2 s, with the usual jitter so clients do not retry in step.
    static let backendRetry = RetryPolicy(maxAttempts: nil, initialDelay: .milliseconds(100), maxDelay: .seconds(2))

    /// The error to throw when acquiring gives up; starts a holder-scoped release in the
    /// background when the last attempt may have been granted without this handle learning of it.
    private func giveUp(
        _ error: LockheedError, mayHaveGranted: Bool, failingFor: Duration? = nil
    ) -> LockheedError {
        if mayHaveGranted && error.mayHaveBeenApplied {
            let cleanup = Task { [locker, name, holder, logger] in
                do {
                    _ = try await abandoning(at: .now + .seconds(10), "release of a possibly granted lease") {
                        () throws(LockheedError) in try await locker.release(name, holder: holder)
                    }
                } catch {
                    logger.debug("release of a possibly granted lease failed: \(error)")
                }
            }
            state.withLock { $0.cleanup = cleanup }
        }
        guard let failingFor, error.code == .unavailable else { return error }
        let message = error.message
        return .unavailable("\(message) (still failing after \(String(format: "%.1f", failingFor.timeInterval)) s)")
    }

    /// Waits for a pending clean-up release, so it cannot remove a lease granted after it.
    private func finishCleanup() async {
        let cleanup = state.withLock { state in
            defer { state.cleanup = nil }
            return state.cleanup
        }
        await cleanup?.value
    }
}

extension LockheedError {
    /// Whether the backend may have carried out the request although the caller got this error.
    var mayHaveBeenApplied: Bool {
        [.unavailable, .timedOut, .cancelled, .backend].contains(code)
    }
}
