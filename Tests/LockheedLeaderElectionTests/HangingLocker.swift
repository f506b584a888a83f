import Foundation
import LockheedCore
import Synchronization

/// A real locker whose renewals can be made to hang, as calls to a backend that stopped
/// answering do, and whose releases then fail at once; everything else goes through.
final class HangingLocker: Locker {
    let base: any Locker
    let hanging = Mutex(false)

    init(_ base: any Locker) { self.base = base }

    var backendName: String { base.backendName }
    var capabilities: LockerCapabilities { base.capabilities }

    private func hangIfAsked() async throws(LockheedError) {
        while hanging.withLock({ $0 }) { try await sleepCancellable(for: .milliseconds(10)) }
    }

    func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease { try await base.acquire(request) }
    func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        try await hangIfAsked()
        return try await base.renew(name, holder: holder, duration: duration)
    }
    func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        if hanging.withLock({ $0 }) { throw .unavailable("release refused by the test") }
        return try await base.release(name, holder: holder)
    }
    func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await base.breakLock(name, if: condition)
    }
    func state(of name: LockName) async throws(LockheedError) -> LockState? { try await base.state(of: name) }
    func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        try await base.list(matching: condition)
    }
    func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        try await base.waitForChange(of: name, since: since, timeout: timeout)
    }
}
