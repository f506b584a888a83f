import Foundation
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("expiry judgment across clocks")
struct LeaseExpiryTests {
    let name: LockName
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    init() throws { name = try LockName("skew") }

    func record(expires: Date, duration: Int64?, clock: String?) -> LockRecord {
        LockRecord(
            name: "skew", lockType: "mutex",
            leases: [
                "h": .init(
                    instanceID: "h", expires: RFC3339.format(expires), acquired: nil, fencingToken: 1,
                    durationMs: duration, clock: clock)
            ], tags: nil, fencingCounter: 1, maxLeases: nil)
    }

    @Test func ourClockUsesTheStoredExpiry() {
        let expiry = LeaseExpiry(clockIdentity: "here")
        let past = record(expires: now.addingTimeInterval(-1), duration: 30_000, clock: "here")
        #expect(!expiry.state(of: past, name: name, now: now, instant: .now).isAcquired(at: now))
        let future = record(expires: now.addingTimeInterval(5), duration: 30_000, clock: "here")
        #expect(expiry.state(of: future, name: name, now: now, instant: .now).isAcquired(at: now))
    }

    @Test func goLeasesUseTheStoredExpiryLikeGo() {
        let expiry = LeaseExpiry(clockIdentity: "here")
        let past = record(expires: now.addingTimeInterval(-1), duration: nil, clock: nil)
        #expect(!expiry.state(of: past, name: name, now: now, instant: .now).isAcquired(at: now))
    }

    @Test func aRemoteClockBehindOursCannotExpireALiveLeaseEarly() {
        // The remote host's clock is 10 minutes behind: its fresh 30 s lease looks long expired.
        let expiry = LeaseExpiry(clockIdentity: "here")
        let lease = record(expires: now.addingTimeInterval(-600 + 30), duration: 30_000, clock: "remote")
        let start = ContinuousClock.now
        let first = expiry.state(of: lease, name: name, now: now, instant: start)
        #expect(first.isAcquired(at: now), "first observation: a full duration to go")
        let later = expiry.state(of: lease, name: name, now: now.addingTimeInterval(29), instant: start + .seconds(29))
        #expect(later.isAcquired(at: now.addingTimeInterval(29)))
        let expired = expiry.state(
            of: lease, name: name, now: now.addingTimeInterval(30), instant: start + .seconds(30))
        #expect(!expired.isAcquired(at: now.addingTimeInterval(30)), "observed unchanged for its duration")
    }

    @Test func aRemoteClockAheadOfOursCannotHoldADeadLeaseForever() {
        // The remote clock is an hour ahead: by its stamp the lease would last another hour.
        let expiry = LeaseExpiry(clockIdentity: "here")
        let lease = record(expires: now.addingTimeInterval(3600 + 30), duration: 30_000, clock: "remote")
        let start = ContinuousClock.now
        _ = expiry.state(of: lease, name: name, now: now, instant: start)
        let after = expiry.state(of: lease, name: name, now: now.addingTimeInterval(31), instant: start + .seconds(31))
        #expect(!after.isAcquired(at: now.addingTimeInterval(31)))
    }

    @Test func aRenewalRestartsTheObservation() {
        let expiry = LeaseExpiry(clockIdentity: "here")
        let start = ContinuousClock.now
        _ = expiry.state(
            of: record(expires: now.addingTimeInterval(30), duration: 30_000, clock: "remote"), name: name, now: now,
            instant: start)
        let renewed = record(expires: now.addingTimeInterval(50), duration: 30_000, clock: "remote")
        let seen = expiry.state(of: renewed, name: name, now: now.addingTimeInterval(20), instant: start + .seconds(20))
        let expiresAt = seen.leases.first?.expiresAt
        #expect(expiresAt == now.addingTimeInterval(50), "20 s in: a full 30 s from the renewal's first sighting")
    }
}
