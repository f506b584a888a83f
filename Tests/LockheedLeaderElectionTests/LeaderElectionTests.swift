import Foundation
import LockheedConformance
import LockheedCore
import LockheedLeaderElection
import LockheedMemory
import Logging
import MetricsTestKit
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// Elections sharing one in-memory store, in one process.
// The limit counts the wait for `.timeSensitive`'s turn, a few minutes at most in a full run.
@Suite("LeaderElection on the memory backend", .timeLimit(.minutes(10)), .timeSensitive)
struct LeaderElectionTests {
    static func options(duration: Duration = .seconds(2), renew: Duration = .milliseconds(200)) -> LeaderElectionOptions
    {
        var options = LeaderElectionOptions(duration: duration, renewInterval: renew)
        options.backoff = .milliseconds(20)
        return options
    }

    let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("three elections that resign after each term never lead at the same time; tokens rise")
    func oneLeaderAtATime() async throws {
        let store = MemoryLockStore()
        let probe = ElectionProbe()
        let elections = try (0..<3).map { index in
            try LeaderElection(
                "one-at-a-time", locker: store.makeLocker(), identity: "e\(index)", options: Self.options(),
                logger: quiet, leading: probe.leading(for: .milliseconds(30)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for election in elections { group.addTask { try await election.run() } }
            #expect(await eventually(within: .seconds(10)) { probe.terms.filter { $0.ended != nil }.count >= 12 })
            group.cancelAll()
            try await group.waitForAll()
        }
        let terms = probe.terms
        #expect(probe.mostAtOnce == 1)
        let tokens = terms.map(\.leadership.fencingToken)
        #expect(tokens == tokens.sorted() && Set(tokens).count == tokens.count)
        #expect(Set(terms.map(\.leadership.identity)).count == 3, "every election led at least once")
    }

    @Test("a broken lock cancels the leading closure before the lease could expire; the next term has a new token")
    func lossCancelsLeading() async throws {
        let store = MemoryLockStore()
        let locker = store.makeLocker()
        let probe = ElectionProbe()
        let election = try LeaderElection(
            "loss", locker: locker, options: Self.options(duration: .seconds(20), renew: .milliseconds(200)),
            logger: quiet, leading: probe.leading())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await election.run() }
            #expect(await eventually(within: .seconds(10)) { election.isLeader })
            let first = try #require(election.leadership)
            _ = try await locker.breakLock(first.name, if: nil)
            let broken = ContinuousClock.now
            #expect(await eventually(within: .seconds(10)) { probe.terms.first?.ended != nil })
            let ended = try #require(probe.terms.first?.ended)
            // The next renewal (within 200 ms) answers "lost"; far less than the 20 s lease.
            #expect(ended - broken < .seconds(10))
            #expect(probe.terms.first?.cancelled == true)
            #expect(await eventually(within: .seconds(10)) { probe.terms.count == 2 && election.isLeader })
            let second = try #require(election.leadership)
            #expect(second.fencingToken > first.fencingToken)
            #expect(second.holder != first.holder)
            #expect(second.term == first.term + 1)
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("renewals that hang end the term in time; the next term is a new grant, not a refresh of the old lease")
    func hangingRenewalsEndTheTerm() async throws {
        let store = MemoryLockStore()
        let locker = HangingLocker(store.makeLocker())
        let probe = ElectionProbe()
        let election = try LeaderElection(
            "hanging", locker: locker, options: Self.options(duration: .seconds(4), renew: .milliseconds(200)),
            logger: quiet, leading: probe.leading())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await election.run() }
            #expect(await eventually(within: .seconds(10)) { election.isLeader })
            let first = try #require(election.leadership)
            // The backend keeps the lease (until it expires) but stops answering renewals and
            // refuses releases: the same holder acquiring again before expiry would silently
            // refresh the old lease and keep its token.
            locker.hanging.withLock { $0 = true }
            let hung = ContinuousClock.now
            #expect(await eventually(within: .seconds(10)) { probe.terms.first?.ended != nil })
            let ended = try #require(probe.terms.first?.ended)
            #expect(ended - hung < .seconds(4), "cancelled before the 4 s lease could expire")
            #expect(probe.terms.first?.cancelled == true)
            #expect(await eventually(within: .seconds(10)) { probe.terms.count == 2 && election.isLeader })
            let second = try #require(election.leadership)
            #expect(second.fencingToken > first.fencingToken)
            locker.hanging.withLock { $0 = false }
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    @Test("graceful shutdown cancels leading and releases at once: a standby leads long before expiry")
    func gracefulShutdownReleases() async throws {
        let store = MemoryLockStore()
        let probe = ElectionProbe()
        // A 30 s lease and standbys retrying only every 10 s: only the release can hand over fast
        // (change notification wakes the standby).
        var options = Self.options(duration: .seconds(30), renew: .seconds(10))
        options.retryDelay = .seconds(10)
        let leader = try LeaderElection(
            "shutdown", locker: store.makeLocker(), identity: "leader", options: options, logger: quiet,
            leading: probe.leading())
        let standby = try LeaderElection(
            "shutdown", locker: store.makeLocker(), identity: "standby", options: options, logger: quiet,
            leading: probe.leading())
        // The leader runs under a graceful-shutdown trigger; the standby, started outside its
        // scope, does not see it.
        let (trigger, leaderRun) = await testGracefulShutdown { trigger in
            (trigger, Task { try await leader.run() })
        }
        // The standby starts campaigning only once the leader leads: started together, either
        // could win the first term.
        #expect(await eventually(within: .seconds(10)) { leader.isLeader })
        let standbyRun = Task { try await standby.run() }
        defer { standbyRun.cancel() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(!standby.isLeader)
        let shutdown = ContinuousClock.now
        trigger.triggerGracefulShutdown()
        try await leaderRun.value
        #expect(!leader.isLeader)
        #expect(probe.terms.first?.cancelled == true)
        #expect(await eventually(within: .seconds(5)) { standby.isLeader })
        #expect(ContinuousClock.now - shutdown < .seconds(3))
        let current = try await standby.currentLeader()
        #expect(current?.identity == "standby")
    }

    @Test("graceful shutdown of a standby stops its campaign; it never leads")
    func gracefulShutdownOfStandby() async throws {
        let store = MemoryLockStore()
        let probe = ElectionProbe()
        let leader = try LeaderElection(
            "standby", locker: store.makeLocker(), identity: "leader", options: Self.options(), logger: quiet,
            leading: probe.leading())
        let standby = try LeaderElection(
            "standby", locker: store.makeLocker(), identity: "standby", options: Self.options(), logger: quiet,
            leading: probe.leading())
        let leaderRun = Task { try await leader.run() }
        defer { leaderRun.cancel() }
        #expect(await eventually(within: .seconds(10)) { leader.isLeader })
        let (trigger, standbyRun) = await testGracefulShutdown { trigger in
            (trigger, Task { try await standby.run() })
        }
        try await Task.sleep(for: .milliseconds(100))
        trigger.triggerGracefulShutdown()
        try await standbyRun.value
        #expect(probe.terms.count == 1)
        #expect(leader.isLeader)
    }

    @Test("the leader-change sequence reports each new leader with its identity, once")
    func leaderChanges() async throws {
        let store = MemoryLockStore()
        let probe = ElectionProbe()
        let options = Self.options()
        let first = try LeaderElection(
            "changes", locker: store.makeLocker(), identity: "first", options: options, logger: quiet,
            leading: probe.leading())
        let second = try LeaderElection(
            "changes", locker: store.makeLocker(), identity: "second", options: options, logger: quiet,
            leading: probe.leading())
        let changes = LeaderChanges(try LockName("changes"), locker: store.makeLocker(), every: .milliseconds(50))
        let observed = Task {
            var seen: [Leader?] = []
            for try await leader in changes {
                seen.append(leader)
                if leader?.identity == "second" { break }
            }
            return seen
        }
        let (trigger, firstRun) = await testGracefulShutdown { trigger in
            (trigger, Task { try await first.run() })
        }
        #expect(await eventually(within: .seconds(10)) { first.isLeader })
        let secondRun = Task { try await second.run() }
        defer { secondRun.cancel() }
        try await Task.sleep(for: .milliseconds(200))
        trigger.triggerGracefulShutdown()
        try await firstRun.value
        let seen = try await observed.value
        #expect(await eventually(within: .seconds(10)) { probe.terms.count == 2 })
        let leaders = seen.compactMap { $0 }
        #expect(leaders.map(\.identity) == ["first", "second"])
        #expect(leaders.map(\.fencingToken) == probe.terms.map(\.leadership.fencingToken))
        #expect(leaders.map(\.holder) == probe.terms.map(\.leadership.holder))
        for (before, after) in zip(seen, seen.dropFirst()) { #expect(before != after) }
    }

    @Test("the leader gauge is 1 while leading and 0 after; transitions are counted")
    func metrics() async throws {
        let metrics = TestMetrics()
        let store = MemoryLockStore()
        let probe = ElectionProbe()
        let election = try LeaderElection(
            "metered", locker: store.makeLocker(), options: Self.options(), logger: quiet, metricsFactory: metrics,
            leading: probe.leading())
        let dimensions = [("lock", "metered"), ("backend", "memory")]
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await election.run() }
            #expect(await eventually(within: .seconds(10)) { election.isLeader })
            let gauge = try metrics.expectGauge("lockheed_leader", dimensions)
            #expect(gauge.lastValue == 1)
            group.cancelAll()
            try await group.waitForAll()
        }
        let gauge = try metrics.expectGauge("lockheed_leader", dimensions)
        #expect(gauge.lastValue == 0)
        let toLeader = metrics.counterTotal(
            label: "lockheed_leader_transitions_total", dimensions: dimensions + [("to", "leader")])
        let toFollower = metrics.counterTotal(
            label: "lockheed_leader_transitions_total", dimensions: dimensions + [("to", "follower")])
        #expect(toLeader == 1 && toFollower == 1)
    }

    @Test("an identity that makes no valid tag, and options that cannot work, are typed errors")
    func badConfiguration() throws {
        let locker = MemoryLocker()
        #expect(throws: LockheedError.self) {
            try LeaderElection("bad", locker: locker, identity: "has space") { _ in }
        }
        #expect(throws: LockheedError.self) {
            try LeaderElection("bad", locker: locker, identity: String(repeating: "x", count: 60)) { _ in }
        }
        #expect(throws: LockheedError.self) {
            try LeaderElection(
                "bad", locker: locker, options: LeaderElectionOptions(duration: .seconds(1), renewInterval: .seconds(2))
            ) { _ in }
        }
    }
}
