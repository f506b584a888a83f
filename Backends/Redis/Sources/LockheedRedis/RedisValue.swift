import CHiredis

/// One Redis reply, copied out of hiredis so it can cross threads.
enum RedisValue: Sendable, Hashable {
    /// A bulk string.
    case string(String)
    /// An integer.
    case integer(Int64)
    /// An array of replies.
    case array([RedisValue])
    /// The null reply.
    case null
    /// A status reply such as `OK`.
    case status(String)
    /// An error reply with the server's words.
    case error(String)

    /// Copies a hiredis reply tree.
    init(_ reply: UnsafePointer<redisReply>) {
        let r = reply.pointee
        switch r.type {
        case REDIS_REPLY_STRING: self = .string(Self.text(r))
        case REDIS_REPLY_STATUS: self = .status(Self.text(r))
        case REDIS_REPLY_ERROR: self = .error(Self.text(r))
        case REDIS_REPLY_INTEGER: self = .integer(Int64(r.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisValue] = []
            items.reserveCapacity(r.elements)
            for index in 0..<r.elements {
                if let element = r.element?[index] { items.append(RedisValue(element)) } else { items.append(.null) }
            }
            self = .array(items)
        default: self = .null
        }
    }

    private static func text(_ r: redisReply) -> String {
        guard let str = r.str else { return "" }
        let buffer = UnsafeRawBufferPointer(start: str, count: Int(r.len))
        return String(decoding: buffer, as: UTF8.self)
    }

    /// The text of a string or status reply.
    var text: String? {
        switch self {
        case .string(let s), .status(let s): s
        case .integer(let i): String(i)
        default: nil
        }
    }

    /// The value of an integer reply (or a string holding one).
    var int: Int64? {
        switch self {
        case .integer(let i): i
        case .string(let s): Int64(s)
        default: nil
        }
    }

    /// The elements of an array reply.
    var array: [RedisValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
