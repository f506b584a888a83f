import Foundation
import FuzzDriver
import LockheedCore

/// Condition text: parsing never crashes and fails only with a `column N:` condition error; a
/// parsed condition prints as text that parses back to the same condition and prints the same,
/// survives a JSON round trip, and evaluates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConditionText(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let condition: Condition
    do { condition = try Condition(parsing: text) } catch {
        guard error.code == .invalidCondition, error.message.hasPrefix("column ") else {
            fatalError("parse error without a column: \(error)")
        }
        return 0
    }
    let printed = condition.description
    let reparsed: Condition
    do { reparsed = try Condition(parsing: printed) } catch {
        fatalError("the printed form \(printed.debugDescription) does not parse: \(error)")
    }
    guard reparsed == condition, reparsed.description == printed else {
        fatalError("text round trip changed \(printed.debugDescription) into \(reparsed.description.debugDescription)")
    }
    do {
        let json = try JSONEncoder().encode(condition)
        guard try JSONDecoder().decode(Condition.self, from: json) == condition else {
            fatalError("JSON round trip changed \(printed.debugDescription)")
        }
    } catch {
        fatalError("JSON round trip of \(printed.debugDescription) failed: \(error)")
    }
    _ = condition.matches(FuzzStates.held)
    _ = condition.matches(FuzzStates.free)
    return 0
}

/// Two lock states to evaluate conditions against.
enum FuzzStates {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let held = LockState(
        name: name, type: .shared(maxHolders: 3),
        leases: [Lease(holder: "ci-7", acquiredAt: now, expiresAt: now.addingTimeInterval(30), fencingToken: 4)],
        tags: ["nightly", "db"], fencingCounter: 4)
    static let free = LockState(name: name)
    private static var name: LockName {
        guard let name = try? LockName("fuzz.lock") else { fatalError("fixed lock name rejected") }
        return name
    }
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzConditionText_main")
public func fuzzConditionTextMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzConditionText)
}
