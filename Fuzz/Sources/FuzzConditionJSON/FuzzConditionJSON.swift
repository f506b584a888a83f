import Foundation
import FuzzDriver
import LockheedCore

/// `Condition` JSON (the Go original's shape): decoding never crashes, whatever the nesting; a
/// decoded condition encodes to JSON that decodes to the same condition and encodes to the
/// same bytes, and evaluates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConditionJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let condition = try? JSONDecoder().decode(Condition.self, from: bytes) else { return 0 }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
        let json = try encoder.encode(condition)
        let decoded = try JSONDecoder().decode(Condition.self, from: json)
        guard decoded == condition, try encoder.encode(decoded) == json else {
            fatalError("JSON round trip changed \(String(decoding: json, as: UTF8.self))")
        }
    } catch {
        fatalError("re-encoding \(condition) failed: \(error)")
    }
    _ = condition.description
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    guard let name = try? LockName("fuzz.lock") else { fatalError("fixed lock name rejected") }
    let state = LockState(
        name: name, type: .mutex,
        leases: [Lease(holder: "ci-7", acquiredAt: now, expiresAt: nil, fencingToken: 1)], tags: ["nightly"],
        fencingCounter: 1)
    _ = condition.matches(state, at: now)
    return 0
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzConditionJSON_main")
public func fuzzConditionJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzConditionJSON)
}
