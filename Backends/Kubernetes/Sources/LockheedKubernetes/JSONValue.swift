import Foundation

/// Any JSON value, for the fields of a Kubernetes object we do not model but must write back
/// unchanged (owner references, managed fields, other tools' keys).
enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// A coding key for any field name: reads the fields a model does not name.
struct AnyCodingKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }

    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where K == AnyCodingKey {
    /// Every field not in `known`, kept as raw JSON.
    func unknownFields(besides known: Set<String>) throws -> [String: JSONValue] {
        var rest: [String: JSONValue] = [:]
        for key in allKeys where !known.contains(key.stringValue) {
            rest[key.stringValue] = try decode(JSONValue.self, forKey: key)
        }
        return rest
    }
}

extension KeyedEncodingContainer where K == AnyCodingKey {
    /// Writes back the fields kept by ``KeyedDecodingContainer/unknownFields(besides:)``.
    mutating func encodeUnknown(_ fields: [String: JSONValue]) throws {
        for (key, value) in fields { try encode(value, forKey: AnyCodingKey(key)) }
    }

    /// Writes `value` unless it is `nil`.
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey name: String) throws {
        if let value { try encode(value, forKey: AnyCodingKey(name)) }
    }
}

/// JSON encoding as every Kubernetes body of ours is written: sorted keys, slashes unescaped.
enum KubernetesJSON {
    /// `value` as JSON bytes (empty when it cannot be encoded, which our models never are).
    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data()
    }

    /// `T` from JSON bytes, or `nil`.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) -> T? {
        try? JSONDecoder().decode(type, from: data)
    }
}
