import Foundation
import Lockheed
import LockheedLeaderElection
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Milliseconds of `CLOCK_MONOTONIC`, the clock `LeaderElectedJob` writes its history with.
func monotonicMilliseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

/// Three `LeaderElectedJob` processes on one backend and one lock, a history file they share,
/// and an observer reading who leads.
final class JobFleet: Sendable {
    static let duration = 2000  // ms
    static let renew = 400  // ms
    static let retry = 200  // ms

    let directory: URL
    let historyPath: String
    let observer: any Locker
    let name: LockName
    let processes: [String: ChildProcess]

    init(backendURL: String, directory: URL) throws {
        let binary = try #require(
            ChildProcess.builtProduct(named: "LeaderElectedJob"), "LeaderElectedJob was not built beside the tests")
        self.directory = directory
        historyPath = directory.appendingPathComponent("history.tsv").path
        name = try LockName("job")
        observer = try BackendConfiguration(url: backendURL).makeLocker()
        var processes: [String: ChildProcess] = [:]
        for identity in ["p0", "p1", "p2"] {
            processes[identity] = try ChildProcess.spawn(
                executable: binary,
                arguments: [
                    "--backend", backendURL, "--lock", name.rawValue, "--identity", identity, "--period", "100ms",
                    "--history", historyPath, "--duration", "\(Self.duration)ms", "--renew", "\(Self.renew)ms",
                    "--retry", "\(Self.retry)ms",
                ],
                outputPath: directory.appendingPathComponent("\(identity).log").path)
        }
        self.processes = processes
    }

    /// Polls the backend every 20 ms until a leader other than `previous` leads; returns it and
    /// when it was first seen (monotonic ms).
    func nextLeader(after previous: Leader?, within timeout: Duration) async throws -> (Leader, Int64) {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let state = try? await observer.state(of: name), let leader = Leader(state: state),
                leader.holder != previous?.holder
            {
                return (leader, monotonicMilliseconds())
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no new leader within \(timeout); logs:\n\(logs())")
        throw CancellationError()
    }

    /// The process of `leader`.
    func process(of leader: Leader) throws -> ChildProcess {
        let identity = try #require(leader.identity)
        return try #require(processes[identity])
    }

    /// Sends `signal` to `identity`'s process and waits for it to exit; returns its status.
    func stop(_ identity: String, with signal: Int32) async -> Int32 {
        guard let process = processes[identity] else { return -1 }
        process.signal(signal)
        return await process.waitForExit()
    }

    /// Kills every process still running (they are ours) and closes the observer.
    func tearDown() async {
        for process in processes.values {
            process.signal(SIGKILL)
            _ = await process.waitForExit()
        }
        await observer.shutdown()
    }

    /// The processes' logs, for failure messages.
    func logs() -> String {
        processes.keys.sorted().map { identity in
            let text = (try? String(contentsOf: directory.appendingPathComponent("\(identity).log"), encoding: .utf8))
            return "--- \(identity)\n\(text ?? "")"
        }.joined(separator: "\n")
    }

    /// One line of the history file.
    struct Period: Sendable {
        let token: UInt64
        let start: Int64
        let end: Int64
        let identity: String
    }

    /// The history file's periods, in file order.
    func history() throws -> [Period] {
        let text = try String(contentsOfFile: historyPath, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: "\t").map(String.init)
            try #require(fields.count == 4, "bad history line \(line)")
            return Period(
                token: try #require(UInt64(fields[0])), start: try #require(Int64(fields[1])),
                end: try #require(Int64(fields[2])), identity: fields[3])
        }
    }
}
