import Foundation

/// The validation rules of the API server that a ConfigMap write meets (name, labels, data keys, size).
enum Validation {
    static let dns1123SubdomainMessage =
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        + "and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation "
        + "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"

    /// Whether `name` is a DNS-1123 subdomain: at most 253 characters of `[a-z0-9.-]`, alphanumeric at both ends
    /// and around each dot. As in the API server, its dot-separated parts have no length limit of their own.
    static func isDNS1123Subdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
            isDNS1123Label($0, maximumLength: 253)
        }
    }

    static func isDNS1123Label(_ part: Substring, maximumLength: Int = 63) -> Bool {
        guard let first = part.utf8.first, let last = part.utf8.last, part.utf8.count <= maximumLength else {
            return false
        }
        func alnum(_ byte: UInt8) -> Bool { (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) }
        return alnum(first) && alnum(last) && part.utf8.allSatisfy { alnum($0) || $0 == 45 }
    }

    /// Whether `value` is a valid label value: empty, or up to 63 of `[A-Za-z0-9_.-]` beginning and ending alphanumeric.
    static func isLabelValue(_ value: String) -> Bool {
        value.isEmpty || isQualifiedNamePart(Substring(value))
    }

    static func isQualifiedNamePart(_ part: Substring) -> Bool {
        guard let first = part.utf8.first, let last = part.utf8.last, part.utf8.count <= 63 else { return false }
        func alnum(_ byte: UInt8) -> Bool {
            (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57)
        }
        return alnum(first) && alnum(last) && part.utf8.allSatisfy { alnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }

    /// Whether `key` is a qualified name (`[prefix/]name`, prefix a DNS-1123 subdomain), as label and annotation keys are.
    static func isQualifiedName(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isQualifiedNamePart(parts[0])
        case 2: return isDNS1123Subdomain(String(parts[0])) && isQualifiedNamePart(parts[1])
        default: return false
        }
    }

    /// Whether `key` is a valid ConfigMap data key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
    static func isConfigMapKey(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= 253, key != ".", key != ".." else { return false }
        return key.utf8.allSatisfy {
            ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95
                || $0 == 46
        }
    }

    /// The 422 causes for an object of `resource`, empty when it is valid.
    static func problems(_ resource: ResourceKind, _ object: [String: Any], name: String) -> [(
        field: String, message: String
    )] {
        resource == .leases
            ? metadataProblems(object, name: name) + LeaseValidation.specProblems(object)
            : configMapProblems(object, name: name)
    }

    /// The 422 causes for a ConfigMap object, empty when it is valid.
    static func configMapProblems(_ object: [String: Any], name: String) -> [(field: String, message: String)] {
        var problems = metadataProblems(object, name: name)
        problems += dataProblems(object)
        return problems
    }

    /// The 422 causes of an object's name, labels and annotations.
    static func metadataProblems(_ object: [String: Any], name: String) -> [(field: String, message: String)] {
        var problems: [(field: String, message: String)] = []
        if !isDNS1123Subdomain(name) {
            problems.append(("metadata.name", "Invalid value: \"\(name)\": \(dns1123SubdomainMessage)"))
        }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        if let labels = metadata["labels"] as? [String: Any] {
            for (key, value) in labels.sorted(by: { $0.key < $1.key }) {
                if !isQualifiedName(key) {
                    problems.append(
                        ("metadata.labels", "Invalid value: \"\(key)\": name part must be a valid label key"))
                }
                guard let text = value as? String, isLabelValue(text) else {
                    problems.append(
                        (
                            "metadata.labels",
                            "Invalid value: \"\(value)\": a valid label must be an empty string or "
                                + "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                                + "alphanumeric character, at most 63 characters"
                        ))
                    continue
                }
            }
        }
        if let annotations = metadata["annotations"] as? [String: Any] {
            for key in annotations.keys.sorted() where !isQualifiedName(key) {
                problems.append(("metadata.annotations", "Invalid value: \"\(key)\": name part must be a valid key"))
            }
        }
        return problems
    }

    /// The 422 causes for a ConfigMap's data, empty when it is valid.
    private static func dataProblems(_ object: [String: Any]) -> [(field: String, message: String)] {
        var problems: [(field: String, message: String)] = []
        var size = 0
        for field in ["data", "binaryData"] {
            guard let entries = object[field] as? [String: Any] else { continue }
            for (key, value) in entries.sorted(by: { $0.key < $1.key }) {
                if !isConfigMapKey(key) {
                    problems.append(
                        (
                            "\(field)[\(key)]",
                            "Invalid value: \"\(key)\": a valid config key must consist of "
                                + "alphanumeric characters, '-', '_' or '.'"
                        ))
                }
                size += key.utf8.count + ((value as? String)?.utf8.count ?? 0)
            }
        }
        if size > 1_048_576 {
            problems.append(("[]", "Too long: must have at most 1048576 bytes"))
        }
        return problems
    }
}
