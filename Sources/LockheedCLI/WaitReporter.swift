import Foundation
import Lockheed
import Synchronization

/// Tells the user on stderr what `lockheed exec` is doing: who holds the lock while it waits
/// (a live line on a terminal, one line per change otherwise), and when it holds and releases.
final class WaitReporter: Sendable {
    private struct State {
        var started = ContinuousClock.now
        var waiting = false
        var holders: [Lease] = []
        var shownHolders: [String] = []
        var shownError: String?
        var lineShown = false
        var frame = 0
        var holding = false
    }

    private let name: String
    private let quiet: Bool
    private let live: Bool
    private let deadline: Duration?
    private let waits: Bool
    private let state = Mutex(State())
    private static let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]

    /// A reporter for lock `name`; `live` draws a refreshing status line (stderr is a terminal);
    /// `waits` is false with `--no-wait`, where a refusal is final and reported by the caller.
    init(name: String, quiet: Bool, live: Bool, waits: Bool, deadline: Duration?) {
        self.waits = waits
        self.name = name
        self.quiet = quiet
        self.live = live
        self.deadline = deadline
    }

    /// Consumes `events` until the stream ends, redrawing the live line every 100 ms meanwhile.
    func run(_ events: AsyncStream<LockEvent>) async {
        await withTaskGroup(of: Void.self) { group in
            if live && !quiet {
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(100))
                        self.redraw()
                    }
                }
            }
            for await event in events { handle(event) }
            group.cancelAll()
        }
    }

    /// Updates the display for one event.
    func handle(_ event: LockEvent) {
        switch event {
        case .acquireFailed(let error) where error.code == .held:
            guard waits else { return }
            let holders = error.holders
            let changed = state.withLock { state in
                guard !state.holding else { return false }
                state.waiting = true
                state.holders = holders
                state.shownError = nil
                let names = holders.map { "\($0.holder)#\($0.fencingToken)" }
                defer { state.shownHolders = names }
                return names != state.shownHolders
            }
            if live {
                redraw()
            } else if changed && !quiet {
                let limit = deadline.map { " up to \(DurationSyntax.format($0))" } ?? ""
                Terminal.note(
                    "\"\(name)\" is held by \(LockReport.holders(holders, now: Date())); waiting\(limit)…")
            }
        case .acquireFailed(let error):
            let message = error.description
            let changed = state.withLock { state in
                guard !state.holding else { return false }
                defer { state.shownError = message }
                return state.shownError != message
            }
            // A failing backend is retried even without --wait (for --backend-timeout): say so.
            if changed && error.isTransient && (waits || error.isBackendFailure) && !quiet {
                clearLine()
                Terminal.note("\(message); retrying…")
            }
        case .renewFailed(let error):
            if !quiet { Terminal.note("renewing \"\(name)\" failed, will retry: \(error)") }
        case .lost(let error):
            Terminal.note("lease on \"\(name)\" lost (\(error)): stopping the command")
        default:
            break
        }
    }

    /// Announces that the lock is held, before the command starts (so the note comes first),
    /// and stops the waiting display for good.
    func acquired(_ lease: Lease) {
        let waited = state.withLock { state -> Duration? in
            defer {
                state.waiting = false
                state.holding = true
            }
            return state.waiting ? ContinuousClock.now - state.started : nil
        }
        clearLine()
        guard !quiet else { return }
        let after = waited.map { " after waiting \(DurationSyntax.format(.milliseconds($0.wholeMilliseconds)))" } ?? ""
        Terminal.note("holding \"\(name)\"\(after) (token \(lease.fencingToken), holder \(lease.holder))")
    }

    /// Removes the live line, if shown.
    func clearLine() {
        let shown = state.withLock { state in
            defer { state.lineShown = false }
            return state.lineShown
        }
        if shown { Terminal.write("\r\u{1B}[K") }
    }

    private func redraw() {
        let line: String? = state.withLock { state in
            guard state.waiting, !quiet else { return nil }
            state.frame = (state.frame + 1) % Self.frames.count
            state.lineShown = true
            let waited = Int((ContinuousClock.now - state.started).timeInterval)
            let limit = deadline.map { "/\(DurationSyntax.format($0))" } ?? ""
            return "\(Self.frames[state.frame]) waiting for \"\(name)\" \(waited)s\(limit): held by "
                + LockReport.holders(state.holders, now: Date())
        }
        if let line { Terminal.write("\r\u{1B}[K" + String(line.prefix(max(10, Terminal.columns - 1)))) }
    }
}
