import Logging
import Synchronization

/// Events: subscribers, and the default logging of every event.
extension Lock {
    /// A stream of this lock's events from now on; each call makes a new subscriber. Events
    /// are also logged through ``logger`` and counted through swift-metrics.
    public func events() -> AsyncStream<LockEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: LockEvent.self, bufferingPolicy: .bufferingNewest(256))
        let id = state.withLock { state in
            state.nextSubscriber += 1
            state.subscribers[state.nextSubscriber] = continuation
            return state.nextSubscriber
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    func emit(_ event: LockEvent) {
        log(event)
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    /// The default handler: every event goes to ``logger`` at a level fitting its gravity.
    private func log(_ event: LockEvent) {
        switch event {
        case .acquired(let lease): logger.debug("acquired", metadata: ["token": "\(lease.fencingToken)"])
        case .acquireFailed(let error):
            if error.isTransient {
                logger.debug("acquire refused: \(error)")
            } else {
                logger.warning("acquire failed: \(error)")
            }
        case .renewed: logger.trace("renewed")
        case .renewFailed(let error): logger.warning("renewal failed: \(error)")
        case .released: logger.debug("released")
        case .releaseFailed(let error): logger.warning("release failed: \(error)")
        case .maintainStarted: logger.trace("renewal started")
        case .maintainStopped: logger.trace("renewal stopped")
        case .lost(let error): logger.error("lease lost: \(error)")
        case .debug(let message): logger.debug("\(message)")
        }
    }
}
