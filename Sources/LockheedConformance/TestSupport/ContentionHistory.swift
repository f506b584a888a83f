import Foundation
import LockheedCore

#if canImport(Glibc)
    import Glibc
#endif

/// A record of critical sections entered by contenders, in one process or many, and the check
/// that proves mutual exclusion: no two sections overlapped and fencing tokens only rose.
public struct ContentionHistory: Sendable {
    /// One critical section: its fencing token, who held it, and when it was entered and left
    /// on the machine's monotonic clock (comparable across processes on one machine).
    public struct Interval: Sendable, Hashable {
        /// The lease's fencing token.
        public var token: UInt64
        /// The contender (process id or index).
        public var holder: Int
        /// Entry time, monotonic nanoseconds.
        public var enter: UInt64
        /// Exit time, monotonic nanoseconds.
        public var exit: UInt64
    }

    /// Every completed section.
    public var intervals: [Interval]

    /// Creates a history from intervals.
    public init(intervals: [Interval]) { self.intervals = intervals }

    /// Reads and merges the files contenders wrote with ``Contention/runContender(locker:name:for:holdFor:historyPath:)``.
    public static func load(paths: [String]) throws -> ContentionHistory {
        var intervals: [Interval] = []
        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var open: [UInt64: (holder: Int, enter: UInt64)] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 4, let token = UInt64(fields[1]), let holder = Int(fields[2]),
                    let time = UInt64(fields[3])
                else { throw ContentionViolation("unreadable history line \"\(line)\" in \(path)") }
                switch fields[0] {
                case "enter": open[token] = (holder, time)
                case "exit":
                    guard let entered = open.removeValue(forKey: token) else {
                        throw ContentionViolation("exit without enter for token \(token) in \(path)")
                    }
                    intervals.append(Interval(token: token, holder: entered.holder, enter: entered.enter, exit: time))
                default: throw ContentionViolation("unknown history event \"\(fields[0])\" in \(path)")
                }
            }
        }
        return ContentionHistory(intervals: intervals)
    }

    /// Throws ``ContentionViolation`` if two sections overlapped or a later section had a token
    /// not greater than an earlier one.
    public func verify() throws {
        let sorted = intervals.sorted { $0.enter < $1.enter }
        for (previous, next) in zip(sorted, sorted.dropFirst()) {
            guard previous.exit <= next.enter else {
                throw ContentionViolation(
                    "sections overlapped: token \(previous.token) (holder \(previous.holder)) left at \(previous.exit), "
                        + "token \(next.token) (holder \(next.holder)) entered at \(next.enter)")
            }
            guard previous.token < next.token else {
                throw ContentionViolation("fencing token fell or repeated: \(previous.token) then \(next.token)")
            }
        }
    }

    /// The monotonic clock in nanoseconds, shared by every process on this machine.
    public static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// Collects sections entered by tasks of one process.
    public actor Recorder {
        private var open: [UInt64: (holder: Int, enter: UInt64)] = [:]
        private var closed: [Interval] = []

        /// An empty recorder.
        public init() {}

        /// Records entry into the section guarded by `token`.
        public func enter(token: UInt64, holder: Int) {
            open[token] = (holder, ContentionHistory.monotonicNanoseconds())
        }

        /// Records exit from the section guarded by `token`.
        public func exit(token: UInt64, holder: Int) {
            let now = ContentionHistory.monotonicNanoseconds()
            if let entered = open.removeValue(forKey: token) {
                closed.append(Interval(token: token, holder: entered.holder, enter: entered.enter, exit: now))
            }
        }

        /// The completed sections so far.
        public var history: ContentionHistory { ContentionHistory(intervals: closed) }
    }
}

/// Mutual exclusion or token monotonicity was broken.
public struct ContentionViolation: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// Creates a violation.
    public init(_ description: String) { self.description = description }
}

/// The loop a contender process runs in multi-process tests.
public enum Contention {
    /// Until `total` has passed: acquire `name` (waiting), append `enter TOKEN PID TIME`, hold
    /// for `holdFor`, append `exit TOKEN PID TIME`, release. Returns the sections completed.
    @discardableResult
    public static func runContender(
        locker: any Locker, name: LockName, for total: Duration, holdFor: Duration, historyPath: String
    ) async throws -> Int {
        let fd = open(historyPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw ContentionViolation("cannot open \(historyPath): errno \(errno)") }
        defer { close(fd) }
        let pid = Int(getpid())
        let lock = try Lock(name, locker: locker, holder: "contender-\(pid)")
            .duration(.seconds(5)).retry(.wait(upTo: total + .seconds(30)))
        let deadline = ContinuousClock.now + total
        var sections = 0
        while ContinuousClock.now < deadline {
            try await lock.withLock { held in
                append(fd, "enter \(held.fencingToken) \(pid) \(ContentionHistory.monotonicNanoseconds())\n")
                try await Task.sleep(for: holdFor)
                append(fd, "exit \(held.fencingToken) \(pid) \(ContentionHistory.monotonicNanoseconds())\n")
            }
            sections += 1
        }
        return sections
    }

    private static func append(_ fd: Int32, _ line: String) {
        var bytes = Array(line.utf8)
        _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
