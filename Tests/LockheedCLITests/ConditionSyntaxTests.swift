import Foundation
import Lockheed
import Testing

@Suite struct ConditionSyntaxTests {
    private let now = Date()

    private func state(
        _ name: String = "job", holders: [String] = [], tags: [String] = [], type: LockType = .mutex
    ) throws -> LockState {
        let leases = holders.enumerated().map { index, holder in
            Lease(
                holder: holder, acquiredAt: now, expiresAt: now.addingTimeInterval(60), fencingToken: UInt64(index + 1))
        }
        return LockState(
            name: try LockName(name), type: type, leases: leases, tags: tags, fencingCounter: UInt64(leases.count))
    }

    private func columnError(_ text: String) -> (column: Int, message: String)? {
        do {
            _ = try Condition(parsing: text)
            return nil
        } catch {
            guard error.code == .invalidCondition, error.message.hasPrefix("column ") else {
                return (-1, "\(error)")
            }
            let digits = error.message.dropFirst("column ".count).prefix { $0.isNumber }
            return (Int(digits) ?? -1, error.message)
        }
    }

    @Test func issueExamples() throws {
        let first = try Condition(parsing: "acquired and tags contains nightly")
        #expect(try first == (.acquired && .tagsContain("nightly")))
        #expect(first.matches(try state(holders: ["a"], tags: ["nightly"]), at: now))
        #expect(!first.matches(try state(holders: [], tags: ["nightly"]), at: now))
        #expect(!first.matches(try state(holders: ["a"], tags: ["daily"]), at: now))

        let second = try Condition(parsing: "not acquired or holder == \"build-7\"")
        #expect(try second == (!.acquired || .heldBy("build-7")))
        #expect(second.matches(try state(), at: now))
        #expect(second.matches(try state(holders: ["build-7"]), at: now))
        #expect(!second.matches(try state(holders: ["build-8"]), at: now))
    }

    @Test func precedenceAndGrouping() throws {
        // and binds tighter than or
        let loose = try Condition(parsing: "name == a or name == b and acquired")
        #expect(try loose == .or([.name("a"), .and([.name("b"), .acquired])]))
        let grouped = try Condition(parsing: "(name == a or name == b) and acquired")
        #expect(try grouped == .and([.or([.name("a"), .name("b")]), .acquired]))
        #expect(try Condition(parsing: "not not acquired") == !(!.acquired))
        #expect(
            try Condition(parsing: "!acquired && leaseCount == 0 || type == shared")
                == .or([.and([!.acquired, .leaseCount(0)]), .isShared]))
        #expect(
            try Condition(parsing: "name == b or holder == d or name contains f")
                == .or([.name("b"), .heldBy("d"), .nameContains("f")]))
    }

    @Test func valuesAndFields() throws {
        #expect(try Condition(parsing: "acquired == false") == .notAcquired)
        #expect(try Condition(parsing: "acquired == true") == .acquired)
        #expect(try Condition(parsing: "holder != ci-1") == !.heldBy("ci-1"))
        #expect(try Condition(parsing: "leaseCount == 2") == .leaseCount(2))
        #expect(try Condition(parsing: "type == mutex") == .isMutex)
        #expect(try Condition(parsing: "tags == [b, \"a\"]") == .tagsEqual(["b", "a"]))
        #expect(try Condition(parsing: "tags == []") == .tagsEqual([]))
        #expect(try Condition(parsing: "tags == solo") == .tagsEqual(["solo"]))
        #expect(
            try Condition(parsing: "holder contains \"host-1 \\\"x\\\" \\\\ y\"")
                == .init(
                    .holder, .contains, .string("host-1 \"x\" \\ y")))
        #expect(try Condition(parsing: "name contains db.") == .nameContains("db."))
        let shared = try state(holders: ["a", "b"], type: .shared(maxHolders: 3))
        #expect(try Condition(parsing: "type == shared and leaseCount == 2").matches(shared, at: now))
    }

    @Test func errorsPointAtTheColumn() {
        #expect(columnError("acquired and tags ==")?.column == 21)
        #expect(columnError("acquired and tags ==")?.message.contains("expected a value after '=='") == true)
        #expect(columnError("holder == x and owner == y")?.column == 17)
        #expect(columnError("holder == x and owner == y")?.message.contains("unknown field 'owner'") == true)
        #expect(columnError("holder = x")?.column == 8)
        #expect(columnError("(acquired or holder == x")?.column == 25)
        #expect(columnError("(acquired or holder == x")?.message.contains("expected ')'") == true)
        #expect(columnError("acquired acquired")?.column == 10)
        #expect(columnError("holder == \"open")?.column == 11)
        #expect(columnError("holder == \"open")?.message.contains("not closed") == true)
        #expect(columnError("leaseCount == many")?.column == 15)
        #expect(columnError("acquired == maybe")?.column == 13)
        #expect(columnError("type == lock")?.column == 1)
        #expect(columnError("type == lock")?.message.contains("mutex") == true)
        #expect(columnError("acquired contains x")?.column == 10)
        #expect(columnError("acquired contains x")?.message.contains("use '=='") == true)
        #expect(columnError("")?.message.contains("empty") == true)
        #expect(columnError("tags == [a b]")?.column == 12)
        #expect(columnError("holder == x $")?.column == 13)
        #expect(columnError("holder == \"a\\qb\"")?.column == 13)
        #expect(columnError("and")?.column == 1)
    }

    @Test func descriptionParsesBack() throws {
        for text in [
            "acquired and tags contains nightly", "not acquired or holder == \"build-7\"",
            "tags == [a, b] and leaseCount == 1", "type == shared or name contains \"x y\"",
        ] {
            let condition = try Condition(parsing: text)
            let reparsed = try Condition(parsing: condition.description)
            #expect(reparsed.description == condition.description)
        }
    }

    @Test func nestingIsLimitedWithAColumn() throws {
        let limit = Condition.maximumDepth
        let deepest = String(repeating: "(", count: limit) + "acquired" + String(repeating: ")", count: limit)
        #expect(try Condition(parsing: deepest) == .acquired)
        let deeper = "(" + deepest + ")"
        let error = try #require(columnError(deeper))
        #expect(error.column == limit + 1)
        #expect(error.message.contains("nesting deeper than 64"))
        // 63 negations build a condition of depth 64; one more is refused where it starts.
        let negated = try Condition(parsing: String(repeating: "!", count: limit - 1) + "acquired")
        #expect(negated.matches(try state(), at: now), "63 negations of a false condition")
        let tooMany = try #require(columnError(String(repeating: "not ", count: limit) + "acquired"))
        #expect(tooMany.message.contains("nesting deeper than 64"))
        // and/or levels count too, even without parentheses between them.
        var text = "acquired"
        for _ in 0..<40 { text = "(\(text) and leaseCount == 1 or acquired)" }
        let mixed = try #require(columnError(text))
        #expect(mixed.message.contains("nesting deeper than 64"))
        for huge in [String(repeating: "(", count: 5_000), String(repeating: "!", count: 20_000) + "acquired"] {
            #expect(columnError(huge)?.message.contains("nesting deeper than 64") == true)
        }
    }

    @Test func printedConditionsParseBack() throws {
        let texts = [
            "acquired and tags contains nightly", "not acquired or holder == \"build-7\"",
            "(name contains \"db.\" and leaseCount == 2) or type == shared", "tags == [nightly, \"team:a\"]",
            "holder != \"a\\\"b\\\\c\" and tags == []", "not (acquired or not tags contains x)",
            String(repeating: "(", count: 60) + "acquired or name == \"and\"" + String(repeating: ")", count: 60),
            // A backslash or quote followed by a combining mark is one Character but two scalars
            // (found by FuzzConditionText).
            "name contains \"b\\\\\u{0353}c\" or holder == \"\\\"\u{0301}\"",
        ]
        for text in texts {
            let condition = try Condition(parsing: text)
            #expect(try Condition(parsing: condition.description) == condition, "\(text)")
        }
        var deep: Condition = .acquired
        for level in 1..<Condition.maximumDepth { deep = try level.isMultiple(of: 3) ? !deep : deep && .isShared }
        #expect(try Condition(parsing: deep.description) == deep)
    }
}
