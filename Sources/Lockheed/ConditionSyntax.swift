import LockheedCore

extension Condition {
    /// Parses the command line's condition syntax into a validated condition.
    ///
    /// ```text
    /// acquired and tags contains nightly
    /// not acquired or holder == "build-7"
    /// (name contains "db." and leaseCount == 2) or type == shared
    /// tags == [nightly, "team:a"]
    /// ```
    ///
    /// Operators from loosest to tightest: `or` (`||`), `and` (`&&`), `not` (`!`), then comparisons
    /// `FIELD == VALUE`, `FIELD != VALUE` and `FIELD contains VALUE` over the fields `acquired`,
    /// `tags`, `name`, `holder`, `type` and `leaseCount`; a bare `acquired` means
    /// `acquired == true`. Values are bare words or double-quoted strings with `\"`, `\\`, `\n`
    /// and `\t` escapes. Errors are ``LockheedCore/LockheedError/invalidCondition(_:)`` with a
    /// message starting `column N:` (1-based) so a caller can point at the spot.
    ///
    /// Parentheses and `not` nest at most ``LockheedCore/Condition/maximumDepth`` (64) levels,
    /// and the condition they build may not nest deeper either: deeper text is refused with an
    /// error naming the limit, however long it is.
    public init(parsing text: String) throws(LockheedError) {
        var parser = ConditionParser(text: text)
        self = try parser.parseAll()
    }
}

/// One token of the condition syntax, with the 1-based column where it starts.
struct ConditionToken: Equatable {
    enum Kind: Equatable {
        case word(String)
        case quoted(String)
        case equals
        case notEquals
        case and
        case or
        case bang
        case openParen
        case closeParen
        case openBracket
        case closeBracket
        case comma
        case end
    }

    var kind: Kind
    var column: Int

    /// How the token reads in an error message.
    var display: String {
        switch kind {
        case .word(let word): "'\(word)'"
        case .quoted(let text): "\"\(text)\""
        case .equals: "'=='"
        case .notEquals: "'!='"
        case .and: "'&&'"
        case .or: "'||'"
        case .bang: "'!'"
        case .openParen: "'('"
        case .closeParen: "')'"
        case .openBracket: "'['"
        case .closeBracket: "']'"
        case .comma: "','"
        case .end: "the end"
        }
    }
}

/// Splits condition text into tokens.
struct ConditionLexer {
    private let scalars: [Unicode.Scalar]

    init(text: String) { scalars = Array(text.unicodeScalars) }

    func tokens() throws(LockheedError) -> [ConditionToken] {
        var tokens: [ConditionToken] = []
        var index = 0
        func fail(_ column: Int, _ message: String) -> LockheedError {
            .invalidCondition("column \(column): \(message)")
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let column = index + 1
            if scalar.properties.isWhitespace {
                index += 1
                continue
            }
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch scalar {
            case "(": tokens.append(.init(kind: .openParen, column: column))
            case ")": tokens.append(.init(kind: .closeParen, column: column))
            case "[": tokens.append(.init(kind: .openBracket, column: column))
            case "]": tokens.append(.init(kind: .closeBracket, column: column))
            case ",": tokens.append(.init(kind: .comma, column: column))
            case "=":
                guard next == "=" else { throw fail(column, "expected '==' (a comparison uses two '=')") }
                tokens.append(.init(kind: .equals, column: column))
                index += 1
            case "!":
                if next == "=" {
                    tokens.append(.init(kind: .notEquals, column: column))
                    index += 1
                } else {
                    tokens.append(.init(kind: .bang, column: column))
                }
            case "&":
                guard next == "&" else { throw fail(column, "expected '&&' or 'and'") }
                tokens.append(.init(kind: .and, column: column))
                index += 1
            case "|":
                guard next == "|" else { throw fail(column, "expected '||' or 'or'") }
                tokens.append(.init(kind: .or, column: column))
                index += 1
            case "\"":
                var text = ""
                index += 1
                var closed = false
                while index < scalars.count {
                    let character = scalars[index]
                    if character == "\"" {
                        closed = true
                        break
                    }
                    if character == "\\" {
                        guard index + 1 < scalars.count else { break }
                        index += 1
                        switch scalars[index] {
                        case "\"": text.unicodeScalars.append("\"")
                        case "\\": text.unicodeScalars.append("\\")
                        case "n": text.unicodeScalars.append("\n")
                        case "t": text.unicodeScalars.append("\t")
                        default:
                            throw fail(index, "unknown escape '\\\(scalars[index])' (use \\\", \\\\, \\n or \\t)")
                        }
                    } else {
                        text.unicodeScalars.append(character)
                    }
                    index += 1
                }
                guard closed else { throw fail(column, "the quoted string is not closed") }
                tokens.append(.init(kind: .quoted(text), column: column))
            default:
                guard Self.isWordCharacter(scalar) else { throw fail(column, "unexpected character '\(scalar)'") }
                var word = ""
                while index < scalars.count, Self.isWordCharacter(scalars[index]) {
                    word.unicodeScalars.append(scalars[index])
                    index += 1
                }
                tokens.append(.init(kind: .word(word), column: column))
                continue
            }
            index += 1
        }
        tokens.append(.init(kind: .end, column: scalars.count + 1))
        return tokens
    }

    /// Letters, digits and the punctuation names, tags and holder ids use.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) { return true }
        return "-_.:/@+*".unicodeScalars.contains(scalar)
    }
}

/// A recursive-descent parser over ``ConditionToken``s. Its recursion is bounded: each
/// parenthesis and `not` counts one level of ``nesting``, refused past
/// ``LockheedCore/Condition/maximumDepth``; a run of `not`s is read in a loop.
struct ConditionParser {
    private let text: String
    private var tokens: [ConditionToken] = []
    private var position = 0
    /// Parentheses and `not`s enclosing the current token.
    private var nesting = 0

    init(text: String) { self.text = text }

    mutating func parseAll() throws(LockheedError) -> Condition {
        tokens = try ConditionLexer(text: text).tokens()
        if case .end = tokens[0].kind {
            throw fail(tokens[0], "the condition is empty; try e.g. 'acquired and tags contains nightly'")
        }
        let condition = try parseOr()
        guard case .end = current.kind else {
            throw fail(current, "expected 'and', 'or' or the end, found \(current.display)")
        }
        return condition
    }

    private var current: ConditionToken { tokens[position] }

    private mutating func advance() -> ConditionToken {
        defer { if position < tokens.count - 1 { position += 1 } }
        return tokens[position]
    }

    private func fail(_ token: ConditionToken, _ message: String) -> LockheedError {
        .invalidCondition("column \(token.column): \(message)")
    }

    private func isKeyword(_ token: ConditionToken, _ keyword: String) -> Bool {
        if case .word(let word) = token.kind { return word == keyword }
        return false
    }

    /// The error for text nesting deeper than the limit, at `token`.
    private func tooDeep(_ token: ConditionToken) -> LockheedError {
        fail(token, "nesting deeper than \(Condition.maximumDepth) levels (parentheses, and, or, not) is not accepted")
    }

    /// Runs `build`, giving its error (a condition nesting too deep) the column of `token`.
    private func combine(at token: ConditionToken, _ build: () throws(LockheedError) -> Condition)
        throws(LockheedError) -> Condition
    {
        do { return try build() } catch { throw tooDeep(token) }
    }

    private mutating func parseOr() throws(LockheedError) -> Condition {
        let start = current
        var operands = [try parseAnd()]
        while current.kind == .or || isKeyword(current, "or") {
            _ = advance()
            operands.append(try parseAnd())
        }
        if operands.count == 1 { return operands[0] }
        return try combine(at: start) { () throws(LockheedError) in try Condition.or(operands) }
    }

    private mutating func parseAnd() throws(LockheedError) -> Condition {
        let start = current
        var operands = [try parseUnary()]
        while current.kind == .and || isKeyword(current, "and") {
            _ = advance()
            operands.append(try parseUnary())
        }
        if operands.count == 1 { return operands[0] }
        return try combine(at: start) { () throws(LockheedError) in try Condition.and(operands) }
    }

    /// Any number of `not`s (read in a loop, not by recursion), then a primary.
    private mutating func parseUnary() throws(LockheedError) -> Condition {
        var negations: [ConditionToken] = []
        while current.kind == .bang || isKeyword(current, "not") {
            let token = advance()
            guard nesting + negations.count < Condition.maximumDepth else { throw tooDeep(token) }
            negations.append(token)
        }
        nesting += negations.count
        var condition = try parsePrimary()
        nesting -= negations.count
        for token in negations.reversed() {
            let inner = condition
            condition = try combine(at: token) { () throws(LockheedError) in try Condition.not(inner) }
        }
        return condition
    }

    private mutating func parsePrimary() throws(LockheedError) -> Condition {
        let token = advance()
        switch token.kind {
        case .openParen:
            guard nesting < Condition.maximumDepth else { throw tooDeep(token) }
            nesting += 1
            let inner = try parseOr()
            nesting -= 1
            guard current.kind == .closeParen else {
                throw fail(current, "expected ')' to close the '(' at column \(token.column), found \(current.display)")
            }
            _ = advance()
            return inner
        case .word(let word):
            guard let field = Condition.Field(rawValue: word) else {
                let fields = Condition.Field.allCases.map(\.rawValue).joined(separator: ", ")
                throw fail(token, "unknown field '\(word)'; fields are \(fields)")
            }
            return try parseComparison(field, at: token)
        case .end:
            throw fail(token, "expected a condition, found the end")
        default:
            throw fail(token, "expected a field or '(', found \(token.display)")
        }
    }

    private mutating func parseComparison(_ field: Condition.Field, at fieldToken: ConditionToken)
        throws(LockheedError) -> Condition
    {
        let operatorToken = current
        let operation: Condition.Operation
        var negate = false
        switch operatorToken.kind {
        case .equals: operation = .equals
        case .notEquals:
            operation = .equals
            negate = true
        case .word("contains"): operation = .contains
        default:
            if field == .acquired { return .acquired }
            throw fail(operatorToken, "expected '==', '!=' or 'contains' after '\(field.rawValue)'")
        }
        if operation == .contains && [.acquired, .leaseCount, .type].contains(field) {
            throw fail(operatorToken, "'contains' does not apply to \(field.rawValue); use '=='")
        }
        _ = advance()
        let opText = negate ? "!=" : (operation == .equals ? "==" : "contains")
        let value = try parseValue(for: field, operation: operation, after: opText)
        do {
            let comparison = try Condition(field, operation, value)
            return negate ? try .not(comparison) : comparison
        } catch {
            let detail: String
            detail = error.code == .invalidCondition ? error.message : error.description
            throw fail(fieldToken, detail)
        }
    }

    private mutating func parseValue(for field: Condition.Field, operation: Condition.Operation, after opText: String)
        throws(LockheedError) -> Condition.Value
    {
        let token = advance()
        let text: String
        switch token.kind {
        case .word(let word): text = word
        case .quoted(let quoted): text = quoted
        case .openBracket where field == .tags && operation == .equals:
            return .strings(try parseList(openedAt: token))
        case .end:
            throw fail(token, "expected a value after '\(opText)'")
        default:
            throw fail(token, "expected a value after '\(opText)', found \(token.display)")
        }
        switch (field, operation) {
        case (.acquired, _):
            guard let bool = Bool(text) else {
                throw fail(token, "acquired compares with true or false, not '\(text)'")
            }
            return .bool(bool)
        case (.leaseCount, _):
            guard let count = Int(text), count >= 0 else {
                throw fail(token, "leaseCount compares with a whole number, not '\(text)'")
            }
            return .int(count)
        case (.tags, .equals):
            return .strings([text])
        default:
            return .string(text)
        }
    }

    private mutating func parseList(openedAt open: ConditionToken) throws(LockheedError) -> [String] {
        var items: [String] = []
        if current.kind == .closeBracket {
            _ = advance()
            return items
        }
        while true {
            let token = advance()
            switch token.kind {
            case .word(let word): items.append(word)
            case .quoted(let quoted): items.append(quoted)
            default: throw fail(token, "expected a tag in the list, found \(token.display)")
            }
            let separator = advance()
            switch separator.kind {
            case .comma: continue
            case .closeBracket: return items
            default:
                throw fail(
                    separator,
                    "expected ',' or ']' to close the '[' at column \(open.column), found \(separator.display)")
            }
        }
    }
}
