import Testing

@testable import LockheedCore

@Suite("Retry policy and options")
struct RetryAndOptionsTests {
    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(
            maxAttempts: nil, initialDelay: .milliseconds(100), maxDelay: .seconds(1), multiplier: 2, jitter: 0)
        #expect(policy.delay(afterAttempt: 1) == .milliseconds(100))
        #expect(policy.delay(afterAttempt: 3) == .milliseconds(400))
        #expect(policy.delay(afterAttempt: 30) == .seconds(1))
    }

    @Test func jitterStaysWithinItsFraction() {
        let policy = RetryPolicy(maxAttempts: nil, initialDelay: .seconds(1), maxDelay: .seconds(1), jitter: 0.5)
        for _ in 0..<100 {
            let delay = policy.delay(afterAttempt: 1)
            #expect(delay >= .milliseconds(499) && delay <= .seconds(1))
        }
    }

    @Test func renewIntervalMustBeShorterThanDuration() {
        var options = LockOptions()
        options.duration = .seconds(10)
        options.renewInterval = .seconds(10)
        #expect(throws: LockheedError.self) { try options.validate() }
        options.renewInterval = nil
        #expect(options.effectiveRenewInterval == .seconds(10) / 3)
        options.duration = nil
        #expect(options.effectiveRenewInterval == nil)
    }

    @Test("renew interval and backend timeout are bounded, so no sleep can trap on them")
    func intervalsAreBounded() {
        var options = LockOptions()
        options.duration = nil
        options.renewInterval = .seconds(Int64.max)
        #expect(throws: LockheedError.self) { try options.validate() }
        options.renewInterval = nil
        options.backendTimeout = .seconds(Int64.max)
        #expect(throws: LockheedError.self) { try options.validate() }
        options.backendTimeout = .seconds(-1)
        #expect(throws: LockheedError.self) { try options.validate() }
        options.backendTimeout = .seconds(30)
        #expect(throws: Never.self) { try options.validate() }
    }

    @Test func durationMilliseconds() {
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.microseconds(1001).wholeMilliseconds == 2)
        #expect(Duration.seconds(2).timeInterval == 2)
    }
}
