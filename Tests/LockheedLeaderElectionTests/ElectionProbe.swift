import Foundation
import LockheedCore
import LockheedLeaderElection
import Synchronization

/// What the `leading` closures of elections under test did: terms entered and left, the most
/// that were leading at once, and whether each term ended by cancellation.
final class ElectionProbe: Sendable {
    struct Term: Sendable {
        let leadership: Leadership
        let started: ContinuousClock.Instant
        var ended: ContinuousClock.Instant?
        var cancelled = false
    }

    struct State {
        var terms: [Term] = []
        var leadingNow = 0
        var mostAtOnce = 0
    }

    let state = Mutex(State())

    var terms: [Term] { state.withLock { $0.terms } }
    var mostAtOnce: Int { state.withLock { $0.mostAtOnce } }

    /// A `leading` closure that leads for `hold` (or until cancelled when `nil`), recording it.
    func leading(for hold: Duration? = nil) -> @Sendable (Leadership) async throws -> Void {
        { [self] leadership in
            let index = state.withLock { state in
                state.leadingNow += 1
                state.mostAtOnce = max(state.mostAtOnce, state.leadingNow)
                state.terms.append(Term(leadership: leadership, started: .now))
                return state.terms.count - 1
            }
            defer {
                let cancelled = Task.isCancelled
                state.withLock { state in
                    state.leadingNow -= 1
                    state.terms[index].ended = .now
                    state.terms[index].cancelled = cancelled
                }
            }
            try await Task.sleep(for: hold ?? .seconds(3600))
        }
    }
}
