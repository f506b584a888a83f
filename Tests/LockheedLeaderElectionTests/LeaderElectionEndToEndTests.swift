import Foundation
import KubernetesAPIDouble
import Lockheed
import LockheedConformance
import LockheedLeaderElection
import LockheedRedis
import LockheedRedisTesting
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Three `LeaderElectedJob` processes per backend (SQLite, Redis, the Kubernetes double): SIGKILL of the leader, then SIGTERM of the
/// next one, with the shared history checked for overlapping terms.
///
/// Leases last 2 s, renewed every 400 ms; standbys retry at most every 200 ms. Bounds:
/// - SIGKILL: the lease outlives its holder by up to 2 s; a standby then retries within 200 ms
///   (the renew interval bounds it by default), so takeover ≤ 2.4 s, asserted < 4.4 s (2 s for
///   scheduling on a loaded machine and the observer's 20 ms polling).
/// - SIGTERM: the lease is released at once; asserted < 1.5 s, below the 1.6 s that expiry alone
///   would take at the earliest (duration − renew interval after the last renewal).
// The limit counts the wait for `.timeSensitive`'s turn, a few minutes at most in a full run.
@Suite("LeaderElection end to end", .serialized, .timeLimit(.minutes(10)), .timeSensitive)
struct LeaderElectionEndToEndTests {
    static let killBound = JobFleet.duration + JobFleet.renew + 2000  // ms
    static let termBound = 1500  // ms

    @Test("SQLite: three processes, SIGKILL and SIGTERM of the leader")
    func sqlite() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.failover(
            backendURL: "sqlite://" + directory.appendingPathComponent("locks.db").path, in: directory)
    }

    @Test("Redis: three processes, SIGKILL and SIGTERM of the leader")
    func redis() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await RedisTestServer.start()
        do {
            try await Self.failover(backendURL: "redis://127.0.0.1:\(server.port)?prefix=leader-e2e", in: directory)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test("Kubernetes (the API-server double): three processes, SIGKILL and SIGTERM of the leader")
    func kubernetes() async throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try await KubernetesAPIServerDouble.start()
        server.createNamespace("fleet")
        let kubeconfig = directory.appendingPathComponent("kubeconfig").path
        try """
        apiVersion: v1
        kind: Config
        clusters:
        - name: double
          cluster:
            server: \(server.baseURL)
        contexts:
        - name: double
          context:
            cluster: double
            user: tester
        current-context: double
        users:
        - name: tester
          user:
            token: test-token
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        do {
            try await Self.failover(
                backendURL: "kubernetes://fleet?kubeconfig=\(kubeconfig)&prefix=leader", in: directory)
        } catch {
            try? await server.shutdown()
            throw error
        }
        try await server.shutdown()
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("leader-e2e-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func failover(backendURL: String, in directory: URL) async throws {
        let fleet = try JobFleet(backendURL: backendURL, directory: directory)
        do {
            try await scenario(fleet)
        } catch {
            await fleet.tearDown()
            throw error
        }
        await fleet.tearDown()
    }

    static func scenario(_ fleet: JobFleet) async throws {
        // Startup of three processes on a loaded machine: generous.
        let (first, _) = try await fleet.nextLeader(after: nil, within: .seconds(20))
        try await Task.sleep(for: .milliseconds(600))

        let killed = monotonicMilliseconds()
        try fleet.process(of: first).signal(SIGKILL)
        let (second, secondSeen) = try await fleet.nextLeader(after: first, within: .seconds(15))
        let takeover = secondSeen - killed
        print("LeaderElection \(fleet.observer.backendName): SIGKILL takeover \(takeover) ms")
        #expect(takeover < Self.killBound, "SIGKILL takeover took \(takeover) ms")
        #expect(second.identity != first.identity)
        #expect(second.fencingToken > first.fencingToken)
        try await Task.sleep(for: .milliseconds(600))

        let terminated = monotonicMilliseconds()
        let secondIdentity = try #require(second.identity)
        try fleet.process(of: second).signal(SIGTERM)
        let (third, thirdSeen) = try await fleet.nextLeader(after: second, within: .seconds(15))
        let handover = thirdSeen - terminated
        print("LeaderElection \(fleet.observer.backendName): SIGTERM handover \(handover) ms")
        #expect(handover < Self.termBound, "SIGTERM handover took \(handover) ms")
        #expect(third.fencingToken > second.fencingToken)
        #expect(await fleet.stop(secondIdentity, with: SIGTERM) == 0, "graceful exit\n\(fleet.logs())")
        try await Task.sleep(for: .milliseconds(500))

        // The last process: nobody is left to take over, so the history has exactly three terms.
        let thirdIdentity = try #require(third.identity)
        #expect(await fleet.stop(thirdIdentity, with: SIGTERM) == 0, "graceful exit\n\(fleet.logs())")

        try checkHistory(try fleet.history(), leaders: [first, second, third], killedAt: killed)
    }

    /// Periods of different terms never overlap, tokens rise with time, and each term is the
    /// one process the observer saw leading.
    static func checkHistory(_ periods: [JobFleet.Period], leaders: [Leader], killedAt: Int64) throws {
        let tokens = Array(Set(periods.map(\.token))).sorted()
        #expect(tokens == leaders.map(\.fencingToken), "one term per leader, no other")
        var previousEnd = Int64.min
        for (token, leader) in zip(tokens, leaders) {
            let term = periods.filter { $0.token == token }
            #expect(Set(term.map(\.identity)) == [leader.identity ?? ""])
            let start = try #require(term.map(\.start).min())
            let end = try #require(term.map(\.end).max())
            #expect(
                start >= previousEnd, "term \(token) started at \(start), before the last one ended at \(previousEnd)")
            previousEnd = end
        }
        // The killed leader recorded nothing after its death.
        let firstEnd = periods.filter { $0.token == tokens.first }.map(\.end).max() ?? .min
        #expect(firstEnd <= killedAt)
    }
}
