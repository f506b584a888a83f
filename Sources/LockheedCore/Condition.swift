import Foundation

/// A predicate over a lock's state, used to list locks and to allow forced takeover.
///
/// Built from the Go original's operations (`and`, `or`, `contains`, `equals`) plus `not`, over
/// the fields `acquired`, `tags`, `name`, `holder`, `type` and `leaseCount`. Every way of building
/// one validates it, so an invalid combination (`contains` on `acquired`) never reaches evaluation,
/// and none nests deeper than ``maximumDepth``, so evaluating, comparing, printing and coding a
/// condition never runs out of stack, whoever wrote it.
///
/// ```swift
/// let stale: Condition = try .acquired && .tagsContain("nightly") || !.acquired
/// ```
public struct Condition: Sendable, Hashable {
    /// The deepest nesting accepted: a comparison has depth 1, and each `and`, `or` and `not`
    /// around it adds one. Deeper conditions are refused with
    /// ``LockheedError/invalidCondition(_:)``, from text, from JSON and from code alike.
    public static let maximumDepth = 64

    /// A field of ``LockState`` a condition can test.
    public enum Field: String, Sendable, Hashable, Codable, CaseIterable {
        /// Whether any lease is active (`equals` a Bool).
        case acquired
        /// The lock's tags (`contains` a tag, or `equals` a list of tags in any order).
        case tags
        /// The lock's name (`equals` or `contains` a string).
        case name
        /// The holder of any active lease (`equals` or `contains` a string).
        case holder
        /// `"mutex"` or `"shared"` (`equals`).
        case type
        /// The number of active leases (`equals` an integer).
        case leaseCount
    }

    /// How a condition combines or compares.
    public enum Operation: String, Sendable, Hashable, Codable, CaseIterable {
        /// All subconditions hold.
        case and
        /// At least one subcondition holds.
        case or
        /// The single subcondition does not hold.
        case not
        /// The field equals the value.
        case equals
        /// The field contains the value.
        case contains
    }

    /// The value a comparison tests against.
    public enum Value: Sendable, Hashable {
        /// A boolean, for `acquired`.
        case bool(Bool)
        /// An integer, for `leaseCount`.
        case int(Int)
        /// A string, for `tags contains`, `name`, `holder` and `type`.
        case string(String)
        /// A list of strings, for `tags equals`.
        case strings([String])
    }

    indirect enum Node: Sendable, Hashable {
        case and([Condition])
        case or([Condition])
        case not(Condition)
        case compare(Operation, Field, Value)
    }

    let node: Node
    /// The nesting depth: 1 for a comparison, one more than the deepest subcondition otherwise.
    let depth: Int

    private init(node: Node) {
        self.node = node
        depth = 1
    }

    /// A combination of `conditions`, refused when it would nest deeper than ``maximumDepth``.
    private init(combining node: Node, of conditions: [Condition]) throws(LockheedError) {
        let depth = 1 + (conditions.map(\.depth).max() ?? 0)
        guard depth <= Self.maximumDepth else { throw Self.tooDeep }
        self.node = node
        self.depth = depth
    }

    /// The error for a condition nesting deeper than ``maximumDepth``.
    static var tooDeep: LockheedError {
        .invalidCondition("nesting deeper than \(maximumDepth) levels (and, or, not) is not accepted")
    }

    /// Builds a comparison, rejecting a field, operation and value that do not go together.
    public init(_ field: Field, _ operation: Operation, _ value: Value) throws(LockheedError) {
        switch (field, operation, value) {
        case (.acquired, .equals, .bool),
            (.tags, .contains, .string), (.tags, .equals, .strings),
            (.name, .equals, .string), (.name, .contains, .string),
            (.holder, .equals, .string), (.holder, .contains, .string),
            (.leaseCount, .equals, .int):
            break
        case (.type, .equals, .string(let kind)):
            guard kind == "mutex" || kind == "shared" else {
                throw .invalidCondition("type can equal \"mutex\" or \"shared\", not \"\(kind)\"")
            }
        case (_, .and, _), (_, .or, _), (_, .not, _):
            throw .invalidCondition("\(operation.rawValue) combines conditions; use Condition.\(operation.rawValue)")
        default:
            throw .invalidCondition("\(field.rawValue) \(operation.rawValue) \(value) is not a valid comparison")
        }
        node = .compare(operation, field, value)
        depth = 1
    }

    /// All of `conditions` hold; at least one is required. Throws
    /// ``LockheedError/invalidCondition(_:)`` for none, or past ``maximumDepth``.
    public static func and(_ conditions: [Condition]) throws(LockheedError) -> Condition {
        guard !conditions.isEmpty else { throw .invalidCondition("and needs at least one condition") }
        return try Condition(combining: .and(conditions), of: conditions)
    }

    /// At least one of `conditions` holds; at least one is required. Throws
    /// ``LockheedError/invalidCondition(_:)`` for none, or past ``maximumDepth``.
    public static func or(_ conditions: [Condition]) throws(LockheedError) -> Condition {
        guard !conditions.isEmpty else { throw .invalidCondition("or needs at least one condition") }
        return try Condition(combining: .or(conditions), of: conditions)
    }

    /// `condition` does not hold. Throws ``LockheedError/invalidCondition(_:)`` past ``maximumDepth``.
    public static func not(_ condition: Condition) throws(LockheedError) -> Condition {
        try Condition(combining: .not(condition), of: [condition])
    }

    /// Both hold. Throws ``LockheedError/invalidCondition(_:)`` past ``maximumDepth``.
    public static func && (lhs: Condition, rhs: Condition) throws(LockheedError) -> Condition {
        try .and([lhs, rhs])
    }
    /// Either holds. Throws ``LockheedError/invalidCondition(_:)`` past ``maximumDepth``.
    public static func || (lhs: Condition, rhs: Condition) throws(LockheedError) -> Condition {
        try .or([lhs, rhs])
    }
    /// `condition` does not hold. Throws ``LockheedError/invalidCondition(_:)`` past ``maximumDepth``.
    public static prefix func ! (condition: Condition) throws(LockheedError) -> Condition { try .not(condition) }

    /// Some lease is active.
    public static let acquired = Condition(node: .compare(.equals, .acquired, .bool(true)))
    /// No lease is active.
    public static let notAcquired = Condition(node: .compare(.equals, .acquired, .bool(false)))
    /// The lock carries `tag`.
    public static func tagsContain(_ tag: String) -> Condition {
        Condition(node: .compare(.contains, .tags, .string(tag)))
    }
    /// The lock carries exactly `tags`, in any order.
    public static func tagsEqual(_ tags: [String]) -> Condition {
        Condition(node: .compare(.equals, .tags, .strings(tags)))
    }
    /// The lock is named `name`.
    public static func name(_ name: String) -> Condition { Condition(node: .compare(.equals, .name, .string(name))) }
    /// The lock's name contains `part`.
    public static func nameContains(_ part: String) -> Condition {
        Condition(node: .compare(.contains, .name, .string(part)))
    }
    /// Some active lease belongs to `holder`.
    public static func heldBy(_ holder: String) -> Condition {
        Condition(node: .compare(.equals, .holder, .string(holder)))
    }
    /// The lock is a mutex.
    public static let isMutex = Condition(node: .compare(.equals, .type, .string("mutex")))
    /// The lock is shared.
    public static let isShared = Condition(node: .compare(.equals, .type, .string("shared")))
    /// The lock has exactly `count` active leases.
    public static func leaseCount(_ count: Int) -> Condition {
        Condition(node: .compare(.equals, .leaseCount, .int(count)))
    }

    /// Evaluates the condition against `state`, counting only leases active at `now`. Recursion
    /// is bounded by ``maximumDepth``.
    public func matches(_ state: LockState, at now: Date = Date()) -> Bool {
        switch node {
        case .and(let conditions): return conditions.allSatisfy { $0.matches(state, at: now) }
        case .or(let conditions): return conditions.contains { $0.matches(state, at: now) }
        case .not(let condition): return !condition.matches(state, at: now)
        case .compare(let operation, let field, let value):
            let active = state.activeLeases(at: now)
            switch (field, operation, value) {
            case (.acquired, _, .bool(let expected)): return !active.isEmpty == expected
            case (.tags, .contains, .string(let tag)): return state.tags.contains(tag)
            case (.tags, .equals, .strings(let tags)): return Set(state.tags) == Set(tags)
            case (.name, .equals, .string(let name)): return state.name.rawValue == name
            case (.name, .contains, .string(let part)): return state.name.rawValue.contains(part)
            case (.holder, .equals, .string(let holder)): return active.contains { $0.holder == holder }
            case (.holder, .contains, .string(let part)): return active.contains { $0.holder.contains(part) }
            case (.type, _, .string(let kind)): return state.type.kind == kind
            case (.leaseCount, _, .int(let count)): return active.count == count
            default: return false  // unreachable: the initializers reject every other combination
            }
        }
    }
}

extension Condition.Value: CustomStringConvertible {
    /// The value as the command-line syntax writes it.
    public var description: String {
        switch self {
        case .bool(let value): "\(value)"
        case .int(let value): "\(value)"
        case .string(let value): quoted(value)
        case .strings(let values): "[" + values.map(quoted).joined(separator: ", ") + "]"
        }
    }
}

/// `string` in double quotes with `\\` and `\"` escaped scalar by scalar (a backslash followed by a
/// combining mark is one `Character`, which a `Character`-level replacement would miss).
private func quoted(_ string: String) -> String {
    var result = "\""
    for scalar in string.unicodeScalars {
        if scalar == "\\" || scalar == "\"" { result.unicodeScalars.append("\\") }
        result.unicodeScalars.append(scalar)
    }
    result.unicodeScalars.append("\"")
    return result
}

extension Condition: CustomStringConvertible {
    /// A readable form, e.g. `acquired == true and tags contains "nightly"`.
    public var description: String {
        switch node {
        case .and(let conditions): "(" + conditions.map(\.description).joined(separator: " and ") + ")"
        case .or(let conditions): "(" + conditions.map(\.description).joined(separator: " or ") + ")"
        case .not(let condition): "not " + condition.description
        case .compare(let operation, let field, let value):
            "\(field.rawValue) \(operation == .equals ? "==" : "contains") \(value)"
        }
    }
}

// MARK: - Codable, in the Go original's shape

extension Condition: Codable {
    private enum CodingKeys: String, CodingKey { case operation, field, value, conditions }

    /// Decodes `{"operation":"equals","field":"acquired","value":true}` or
    /// `{"operation":"and","conditions":[…]}`, validating as the initializers do. A condition
    /// nesting deeper than ``maximumDepth`` throws `DecodingError.dataCorrupted` (naming the
    /// limit) before its subconditions are read, so hostile JSON cannot exhaust the stack.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let operation = try container.decode(Operation.self, forKey: .operation)
        do {
            switch operation {
            case .and, .or, .not:
                let nesting = Self.decodingNesting + 1
                guard nesting < Self.maximumDepth else { throw Self.tooDeep }
                let conditions = try Self.$decodingNesting.withValue(nesting) {
                    try container.decode([Condition].self, forKey: .conditions)
                }
                switch operation {
                case .and: self = try .and(conditions)
                case .or: self = try .or(conditions)
                default:
                    guard conditions.count == 1 else {
                        throw LockheedError.invalidCondition("not takes exactly one condition")
                    }
                    self = try .not(conditions[0])
                }
            case .equals, .contains:
                let field = try container.decode(Field.self, forKey: .field)
                let value: Value
                switch field {
                case .acquired: value = .bool(try container.decode(Bool.self, forKey: .value))
                case .leaseCount: value = .int(try container.decode(Int.self, forKey: .value))
                case .tags where operation == .equals:
                    value = .strings(try container.decode([String].self, forKey: .value))
                default: value = .string(try container.decode(String.self, forKey: .value))
                }
                self = try Condition(field, operation, value)
            }
        } catch let error as LockheedError {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// How many conditions enclose the one being decoded (on this task or thread), whatever
    /// decoder is used.
    @TaskLocal private static var decodingNesting = 0

    /// Encodes in the shape ``init(from:)`` reads.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch node {
        case .and(let conditions):
            try container.encode(Operation.and, forKey: .operation)
            try container.encode(conditions, forKey: .conditions)
        case .or(let conditions):
            try container.encode(Operation.or, forKey: .operation)
            try container.encode(conditions, forKey: .conditions)
        case .not(let condition):
            try container.encode(Operation.not, forKey: .operation)
            try container.encode([condition], forKey: .conditions)
        case .compare(let operation, let field, let value):
            try container.encode(operation, forKey: .operation)
            try container.encode(field, forKey: .field)
            switch value {
            case .bool(let v): try container.encode(v, forKey: .value)
            case .int(let v): try container.encode(v, forKey: .value)
            case .string(let v): try container.encode(v, forKey: .value)
            case .strings(let v): try container.encode(v, forKey: .value)
            }
        }
    }
}
