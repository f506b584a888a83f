/// A validated lock name.
///
/// Names follow the strictest backend (Kubernetes): 1 to 63 characters of lowercase letters,
/// digits, `-` and `.`, starting and ending with a letter or digit. A name valid here is valid
/// on every backend.
public struct LockName: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The name as stored.
    public let rawValue: String

    /// The longest name accepted; it leaves room for a ConfigMap prefix and fits a label value.
    public static let maximumLength = 63

    /// Validates `rawValue`, throwing ``LockheedError/invalidName(_:reason:)`` when it breaks the rules.
    public init(_ rawValue: String) throws(LockheedError) {
        if let reason = Self.problem(with: rawValue) {
            throw .invalidName(rawValue, reason: reason)
        }
        self.rawValue = rawValue
    }

    /// The reason `candidate` is not a valid name, or `nil` when it is.
    public static func problem(with candidate: String) -> String? {
        let bytes = Array(candidate.utf8)
        guard !bytes.isEmpty else { return "must not be empty" }
        guard bytes.count <= maximumLength else { return "must be at most \(maximumLength) characters" }
        func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
        for b in bytes where !(isAlnum(b) || b == 0x2D || b == 0x2E) {
            return "may contain only lowercase letters, digits, '-' and '.'"
        }
        guard isAlnum(bytes.first!), isAlnum(bytes.last!) else {
            return "must start and end with a lowercase letter or digit"
        }
        return nil
    }

    /// The name itself.
    public var description: String { rawValue }

    /// Orders names alphabetically.
    public static func < (lhs: LockName, rhs: LockName) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes and validates a name.
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(raw) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "\(error)"))
        }
    }

    /// Encodes the name as a plain string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Validation of tags and holder identifiers, shared by every backend.
public enum Validation {
    /// The longest tag accepted.
    public static let maximumTagLength = 63
    /// The longest holder identifier accepted.
    public static let maximumHolderLength = 253

    /// Throws ``LockheedError/invalidTag(_:reason:)`` unless `tag` is 1 to 63 characters of
    /// letters, digits, `-`, `_`, `.`, `:`, `/`, `=` or `@`.
    public static func validateTag(_ tag: String) throws(LockheedError) {
        guard !tag.isEmpty else { throw .invalidTag(tag, reason: "must not be empty") }
        guard tag.utf8.count <= maximumTagLength else {
            throw .invalidTag(tag, reason: "must be at most \(maximumTagLength) characters")
        }
        for b in tag.utf8 where !(isAlphanumeric(b) || "-_.:/=@".utf8.contains(b)) {
            throw .invalidTag(tag, reason: "may contain only letters, digits and - _ . : / = @")
        }
    }

    /// Validates every tag and rejects duplicates.
    public static func validateTags(_ tags: [String]) throws(LockheedError) {
        var seen = Set<String>()
        for tag in tags {
            try validateTag(tag)
            guard seen.insert(tag).inserted else { throw .invalidTag(tag, reason: "is listed twice") }
        }
    }

    /// Throws ``LockheedError/invalidHolder(_:reason:)`` unless `holder` is 1 to 253 printable
    /// ASCII characters without spaces.
    public static func validateHolder(_ holder: String) throws(LockheedError) {
        guard !holder.isEmpty else { throw .invalidHolder(holder, reason: "must not be empty") }
        guard holder.utf8.count <= maximumHolderLength else {
            throw .invalidHolder(holder, reason: "must be at most \(maximumHolderLength) characters")
        }
        for b in holder.utf8 where b <= 0x20 || b >= 0x7F || b == 0x22 || b == 0x5C {
            throw .invalidHolder(
                holder, reason: "may contain only printable ASCII without spaces, quotes or backslashes")
        }
    }

    private static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39)
    }
}
