import Synchronization
import Testing

/// Keeps a parallel `swift test` from breaking tests that measure time.
///
/// Swift Testing runs every test of the process at once on the few threads of the cooperative
/// pool. While tests that start servers or processes crowd the machine, a 10 ms sleep can wake
/// more than a second late (measured on a 2-core machine in the first seconds of a run), and a
/// lease of a few seconds is lost for lack of a thread, not for any fault of the code under test.
///
/// - ``Trait/timeSensitive``: the test (each of its cases) runs alone among the marked tests,
///   and never beside a test marked ``Trait/loadsMachine``.
/// - ``Trait/loadsMachine``: the test starts processes or servers; any number run together, but
///   never beside a time-sensitive one.
///
/// Unmarked tests (pure computations, short in-process checks) run freely. Waiting tests are
/// admitted first come, first served, so neither kind starves.
public struct TestLoadTrait: TestTrait, SuiteTrait, TestScoping {
    fileprivate enum Kind { case exclusive, shared }
    fileprivate let kind: Kind

    public var isRecursive: Bool { true }

    public func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        // A test marked both ways (a suite that loads the machine holding a time-sensitive
        // test) is admitted once, as time-sensitive.
        if kind == .shared && test.traits.contains(where: { ($0 as? TestLoadTrait)?.kind == .exclusive }) {
            try await function()
            return
        }
        if TestLoadGate.admitted {
            try await function()
            return
        }
        await TestLoadGate.shared.enter(kind)
        defer { TestLoadGate.shared.leave(kind) }
        try await TestLoadGate.$admitted.withValue(true) { try await function() }
    }
}

extension Trait where Self == TestLoadTrait {
    /// The test asserts how long something takes or holds short leases: it runs alone among
    /// time-sensitive tests and never beside one that loads the machine.
    public static var timeSensitive: Self { TestLoadTrait(kind: .exclusive) }

    /// The test starts processes or servers: it never runs beside a time-sensitive test.
    public static var loadsMachine: Self { TestLoadTrait(kind: .shared) }
}

/// A first-come-first-served readers–writer gate: time-sensitive tests are the writers.
private final class TestLoadGate: Sendable {
    static let shared = TestLoadGate()
    @TaskLocal static var admitted = false

    private struct State {
        var exclusive = false
        var shared = 0
        var waiting: [(kind: TestLoadTrait.Kind, continuation: CheckedContinuation<Void, Never>)] = []

        func fits(_ kind: TestLoadTrait.Kind) -> Bool {
            switch kind {
            case .exclusive: !exclusive && shared == 0
            case .shared: !exclusive
            }
        }

        mutating func admit(_ kind: TestLoadTrait.Kind) {
            switch kind {
            case .exclusive: exclusive = true
            case .shared: shared += 1
            }
        }

        /// Admits waiters from the front while they fit.
        mutating func admitWaiting() -> [CheckedContinuation<Void, Never>] {
            var admitted: [CheckedContinuation<Void, Never>] = []
            while let first = waiting.first, fits(first.kind) {
                admit(first.kind)
                admitted.append(waiting.removeFirst().continuation)
            }
            return admitted
        }
    }

    private let state = Mutex(State())

    func enter(_ kind: TestLoadTrait.Kind) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                if state.waiting.isEmpty && state.fits(kind) {
                    state.admit(kind)
                    return true
                }
                state.waiting.append((kind, continuation))
                return false
            }
            if now { continuation.resume() }
        }
    }

    func leave(_ kind: TestLoadTrait.Kind) {
        let admitted = state.withLock { state in
            switch kind {
            case .exclusive: state.exclusive = false
            case .shared: state.shared -= 1
            }
            return state.admitWaiting()
        }
        for continuation in admitted { continuation.resume() }
    }
}
