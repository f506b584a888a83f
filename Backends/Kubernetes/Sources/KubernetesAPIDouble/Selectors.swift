import Foundation

/// A parsed `labelSelector`: comma-joined requirements `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`.
struct LabelSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case notExists(String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
    }

    var requirements: [Requirement] = []

    /// Parses the query value; throws a 400 Status for a malformed selector, as the API server does.
    init(parsing text: String) throws(APIError) {
        for raw in Self.splitTopLevel(text) {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            requirements.append(try Self.requirement(term, whole: text))
        }
    }

    init() {}

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .exists(let key): labels[key] != nil
            case .notExists(let key): labels[key] == nil
            case .isIn(let key, let values): labels[key].map(values.contains) ?? false
            case .notIn(let key, let values): labels[key].map { !values.contains($0) } ?? true
            }
        }
    }

    /// Splits on commas outside parentheses.
    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == "," && depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func requirement(_ term: String, whole: String) throws(APIError) -> Requirement {
        func checkedKey(_ key: Substring) throws(APIError) -> String {
            let key = key.trimmingCharacters(in: .whitespaces)
            guard Validation.isQualifiedName(key) else {
                throw .badRequest("unable to parse requirement: invalid label key \"\(key)\"")
            }
            return key
        }
        func checkedValue(_ value: Substring) throws(APIError) -> String {
            let value = value.trimmingCharacters(in: .whitespaces)
            guard Validation.isLabelValue(value) else {
                throw .badRequest("unable to parse requirement: invalid label value: \"\(value)\"")
            }
            return value
        }
        if let range = term.range(of: "!=") {
            return .notEquals(try checkedKey(term[..<range.lowerBound]), try checkedValue(term[range.upperBound...]))
        }
        if let range = term.range(of: "==") ?? term.range(of: "=") {
            return .equals(try checkedKey(term[..<range.lowerBound]), try checkedValue(term[range.upperBound...]))
        }
        for (word, negated) in [(" notin ", true), (" in ", false)] {
            guard let range = term.range(of: word) else { continue }
            let list = term[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard list.hasPrefix("("), list.hasSuffix(")") else {
                throw .badRequest("unable to parse requirement: found '\(list)', expected: '('")
            }
            var values = Set<String>()
            for value in list.dropFirst().dropLast().split(separator: ",") { values.insert(try checkedValue(value)) }
            let key = try checkedKey(term[..<range.lowerBound])
            return negated ? .notIn(key, values) : .isIn(key, values)
        }
        if term.hasPrefix("!") { return .notExists(try checkedKey(term.dropFirst())) }
        return .exists(try checkedKey(Substring(term)))
    }
}

/// A parsed `fieldSelector`; ConfigMaps support `metadata.name` and `metadata.namespace` with `=`, `==` and `!=`.
struct FieldSelector: Sendable, Equatable {
    enum Requirement: Sendable, Equatable {
        case equals(field: String, value: String)
        case notEquals(field: String, value: String)
    }

    var requirements: [Requirement] = []

    init() {}

    /// Parses the query value; an unsupported field is a 400 `field label not supported`, as for the real server.
    init(parsing text: String) throws(APIError) {
        for raw in text.split(separator: ",") {
            let term = raw.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            let requirement: Requirement
            let field: String
            if let range = term.range(of: "!=") {
                field = String(term[..<range.lowerBound])
                requirement = .notEquals(field: field, value: String(term[range.upperBound...]))
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                field = String(term[..<range.lowerBound])
                requirement = .equals(field: field, value: String(term[range.upperBound...]))
            } else {
                throw .badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            guard field == "metadata.name" || field == "metadata.namespace" else {
                throw .badRequest("field label not supported: \(field)")
            }
            requirements.append(requirement)
        }
    }

    func matches(namespace: String, name: String) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let field, let value): (field == "metadata.name" ? name : namespace) == value
            case .notEquals(let field, let value): (field == "metadata.name" ? name : namespace) != value
            }
        }
    }
}
