/// Encodes commands in RESP, the Redis wire format: an array of bulk strings.
enum RedisCommand {
    /// The bytes of `arguments` as one RESP command.
    static func encode(_ arguments: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 + arguments.reduce(0) { $0 + $1.utf8.count + 16 })
        append(header: UInt8(ascii: "*"), arguments.count, to: &bytes)
        for argument in arguments {
            append(header: UInt8(ascii: "$"), argument.utf8.count, to: &bytes)
            bytes.append(contentsOf: argument.utf8)
            bytes.append(contentsOf: [13, 10])
        }
        return bytes
    }

    private static func append(header: UInt8, _ count: Int, to bytes: inout [UInt8]) {
        bytes.append(header)
        bytes.append(contentsOf: String(count).utf8)
        bytes.append(contentsOf: [13, 10])
    }
}
