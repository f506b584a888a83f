import Foundation
import LockheedCore
import Testing

/// Conditions never nest deeper than `Condition.maximumDepth`, however they are built, so
/// evaluating, comparing, printing and decoding them cannot exhaust the stack.
@Suite struct ConditionDepthTests {
    private func nots(_ count: Int, around leaf: Condition = .acquired) throws -> Condition {
        var condition = leaf
        for _ in 0..<count { condition = try !condition }
        return condition
    }

    private func expectTooDeep(_ body: () throws -> Condition) {
        do {
            _ = try body()
            Issue.record("a condition nesting deeper than \(Condition.maximumDepth) was accepted")
        } catch let error as LockheedError {
            let message = error.message
            guard error.code == .invalidCondition else {
                Issue.record("expected .invalidCondition, got \(error)")
                return
            }
            #expect(message.contains("nesting deeper than 64"), "\(message)")
        } catch {
            Issue.record("expected a LockheedError, got \(error)")
        }
    }

    @Test func operatorsAndInitialisersStopAtTheLimit() throws {
        #expect(Condition.maximumDepth == 64)
        let deepest = try nots(63)
        #expect(deepest.matches(LockState(name: try LockName("a")), at: Date()))
        expectTooDeep { try !deepest }
        expectTooDeep { try .not(deepest) }
        expectTooDeep { try deepest && .acquired }
        expectTooDeep { try .acquired || deepest }
        expectTooDeep { try .and([.acquired, deepest]) }
        expectTooDeep { try .or([deepest]) }
        var alternating: Condition = .acquired
        for level in 1..<64 {
            alternating = try level.isMultiple(of: 2) ? alternating && .isMutex : alternating || .isShared
        }
        expectTooDeep { try alternating && .acquired }
        // A flat list of any length is one level.
        let wide = try Condition.or(Array(repeating: .acquired, count: 10_000))
        #expect(wide.matches(LockState(name: try LockName("a")), at: Date()) == false)
    }

    /// `{"operation":"not","conditions":[ … ]}` nested `depth - 1` times around a comparison.
    private func json(depth: Int) -> Data {
        let open = String(repeating: #"{"operation":"not","conditions":["#, count: depth - 1)
        let close = String(repeating: "]}", count: depth - 1)
        return Data((open + #"{"operation":"equals","field":"acquired","value":true}"# + close).utf8)
    }

    @Test func decodingStopsAtTheLimit() throws {
        let deepest = try JSONDecoder().decode(Condition.self, from: json(depth: 64))
        #expect(deepest == (try nots(63)))
        #expect(try JSONDecoder().decode(Condition.self, from: JSONEncoder().encode(deepest)) == deepest)
        for depth in [65, 200, 400, 5_000, 50_000] {
            do {
                _ = try JSONDecoder().decode(Condition.self, from: json(depth: depth))
                Issue.record("depth \(depth) was decoded")
            } catch let error as DecodingError {
                // Past 256 levels (512 of JSON) Foundation's parser refuses the text itself.
                guard depth < 250, case .dataCorrupted(let context) = error else { continue }
                #expect(context.debugDescription.contains("nesting deeper than 64"), "\(context.debugDescription)")
            }
        }
    }

    @Test func deepConditionsInsideOtherValuesAreRefusedToo() throws {
        struct Saved: Codable { var conditions: [Condition] }
        let inner = String(decoding: json(depth: 100), as: UTF8.self)
        let text = #"{"conditions":["# + inner + "]}"
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Saved.self, from: Data(text.utf8)) }
    }
}

/// Numbers a caller gives are bounded with typed errors; conversions saturate instead of trapping.
@Suite struct NumericLimitTests {
    @Test func leaseDurationsAreBoundedAtOneHundredYears() throws {
        let name = try LockName("a")
        #expect(AcquireRequest.maximumDuration == .seconds(3_155_760_000))
        _ = try AcquireRequest(name: name, holder: "h", duration: AcquireRequest.maximumDuration)
        _ = try AcquireRequest(name: name, holder: "h", duration: nil)
        for duration in [AcquireRequest.maximumDuration + .nanoseconds(1), .seconds(Int64.max)] {
            #expect(throws: LockheedError.self) { try AcquireRequest(name: name, holder: "h", duration: duration) }
        }
        var options = LockOptions()
        options.duration = .seconds(99_999_999_999)
        #expect(throws: LockheedError.self) { try options.validate() }
    }

    @Test func sharedHolderLimitIsBounded() throws {
        try LockType.shared(maxHolders: 1).validate()
        try LockType.shared(maxHolders: LockType.maximumHolders).validate()
        for bad in [0, -1, LockType.maximumHolders + 1, Int.max, Int.min] {
            #expect(throws: LockheedError.self) { try LockType.shared(maxHolders: bad).validate() }
        }
    }

    @Test func retryPolicyIsBoundedAndNeverTraps() throws {
        try RetryPolicy.wait(upTo: AcquireRequest.maximumDuration).validate()
        #expect(throws: LockheedError.self) { try RetryPolicy.wait(upTo: .seconds(Int64.max)).validate() }
        #expect(throws: LockheedError.self) { try RetryPolicy.attempts(Int.max, delay: .seconds(1)).validate() }
        let huge = RetryPolicy(maxAttempts: nil, initialDelay: .seconds(Int64.max), maxDelay: .seconds(Int64.max))
        #expect(throws: LockheedError.self) { try huge.validate() }
        #expect(huge.delay(afterAttempt: 3) > .zero)
        let nan = RetryPolicy(maxAttempts: nil, multiplier: .nan)
        #expect(nan.delay(afterAttempt: 3) >= .zero)
    }

    @Test func wholeMillisecondsSaturates() {
        #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
        #expect(Duration.nanoseconds(1).wholeMilliseconds == 1)
        #expect(Duration.seconds(Int64.max).wholeMilliseconds == Int64.max)
        #expect(Duration.seconds(Int64.min).wholeMilliseconds == Int64.min)
        #expect(AcquireRequest.maximumDuration.wholeMilliseconds == 3_155_760_000_000)
    }
}
