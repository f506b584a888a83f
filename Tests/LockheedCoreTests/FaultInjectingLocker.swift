import Dispatch
import Foundation
import LockheedCore
import LockheedMemory
import Synchronization

/// A real in-memory store behind a locker whose calls can be made to misbehave as a remote
/// backend does: a renewal that hangs and ignores cancellation (a command already written to a
/// frozen connection), a grant whose reply arrives late or never, a backend that is down.
final class FaultInjectingLocker: Locker {
    struct Faults {
        /// Renewals block this long, ignoring cancellation, before they run.
        var renewHang: Duration?
        /// The next grants are made, then their replies are delayed this long, one each.
        var acquireReplyDelays: [Duration] = []
        /// Grants are made, then this error is thrown instead of the reply.
        var acquireReplyLost: LockheedError?
        /// Every acquire fails with this error before reaching the store.
        var acquireFails: LockheedError?
    }

    let inner: MemoryLocker
    let faults = Mutex(Faults())
    let renewals = Atomic<Int>(0)
    let acquires = Atomic<Int>(0)

    init(_ inner: MemoryLocker = MemoryLocker()) { self.inner = inner }

    var backendName: String { "faulty" }
    var capabilities: LockerCapabilities { inner.capabilities }

    func acquire(_ request: AcquireRequest) async throws(LockheedError) -> Lease {
        acquires.add(1, ordering: .relaxed)
        let (faults, delay) = self.faults.withLock { faults in
            (faults, faults.acquireReplyDelays.isEmpty ? nil : faults.acquireReplyDelays.removeFirst())
        }
        if let error = faults.acquireFails { throw error }
        let lease = try await inner.acquire(request)
        if let error = faults.acquireReplyLost { throw error }
        if let delay { await Self.block(for: delay) }
        return lease
    }

    func renew(_ name: LockName, holder: String, duration: Duration?) async throws(LockheedError) -> Lease {
        renewals.add(1, ordering: .relaxed)
        if let hang = faults.withLock({ $0.renewHang }) { await Self.block(for: hang) }
        return try await inner.renew(name, holder: holder, duration: duration)
    }

    func release(_ name: LockName, holder: String) async throws(LockheedError) -> Bool {
        try await inner.release(name, holder: holder)
    }
    func breakLock(_ name: LockName, if condition: Condition?) async throws(LockheedError) -> [Lease] {
        try await inner.breakLock(name, if: condition)
    }
    func state(of name: LockName) async throws(LockheedError) -> LockState? { try await inner.state(of: name) }
    func list(matching condition: Condition?) async throws(LockheedError) -> [LockState] {
        try await inner.list(matching: condition)
    }

    /// Waits without honouring cancellation, as a blocking C call does.
    static func block(for duration: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + duration.timeInterval) { continuation.resume() }
        }
    }
}
