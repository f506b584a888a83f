import Foundation
import FuzzDriver
import LockheedCore

@testable import LockheedRedis

/// Redis replies as the lock scripts return them: lease lines and state and lease replies built
/// from the input never crash the decoders, which fail only with typed errors; decoded lease
/// lines written back in the same format decode to the same leases.
///
/// Input: `\0`-separated items, each `i<digits>` (integer), `s<text>` (bulk string), `n` (null),
/// `e<text>` (error) or `t<text>` (status); the whole input is also read as lease lines.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedisReplies(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let name = try? LockName("fuzz.lock") else { fatalError("fixed lock name rejected") }
    checkLeaseLines(String(decoding: bytes, as: UTF8.self), name: name)
    let items: [RedisValue] = bytes.split(separator: 0, omittingEmptySubsequences: false).map { item in
        let text = String(decoding: item.dropFirst(), as: UTF8.self)
        switch item.first {
        case UInt8(ascii: "i"): return Int64(text).map(RedisValue.integer) ?? .string(text)
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "e"): return .error(text)
        case UInt8(ascii: "t"): return .status(text)
        default: return .string(text)
        }
    }
    do { _ = try RedisLocker.state(name: name, items) } catch { expectTyped(error) }
    do { _ = try RedisLocker.lease(holder: "fuzz", items, name: name) } catch { expectTyped(error) }
    for item in items {
        if case .error(let message) = item { _ = RedisLocker.scriptError(message, name: name) }
        _ = RedisLocker.unexpected(item, name: name)
    }
    return 0
}

private func expectTyped(_ error: LockheedError) {
    switch error.code {
    case .malformedState, .backend: break
    default: fatalError("unexpected error kind \(error)")
    }
}

/// Lease lines `holder acquiredMs expiresMs token`: decoding never crashes, and what decodes
/// round-trips through the same format when its times are exact in milliseconds.
private func checkLeaseLines(_ text: String, name: LockName) {
    let leases: [Lease]
    do { leases = try RedisLocker.leases(text, name: name) } catch {
        expectTyped(error)
        return
    }
    func milliseconds(_ date: Date) -> Int64? {
        let value = (date.timeIntervalSince1970 * 1000).rounded()
        return abs(value) < 1e15 ? Int64(value) : nil
    }
    var lines: [String] = []
    for lease in leases {
        guard let acquired = milliseconds(lease.acquiredAt) else { return }
        let expires: Int64
        if let date = lease.expiresAt {
            guard let value = milliseconds(date) else { return }
            expires = value
        } else {
            expires = -1
        }
        lines.append("\(lease.holder) \(acquired) \(expires) \(lease.fencingToken)")
    }
    do {
        let again = try RedisLocker.leases(lines.joined(separator: "\n"), name: name)
        guard again.map(\.fencingToken) == leases.map(\.fencingToken), again.map(\.holder) == leases.map(\.holder)
        else { fatalError("lease lines changed on a round trip: \(lines)") }
    } catch {
        fatalError("lease lines we wrote do not decode: \(lines): \(error)")
    }
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzRedisReplies_main")
public func fuzzRedisRepliesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzRedisReplies)
}
