import Foundation
import FuzzDriver

/// RFC 3339 timestamps: parsing never crashes; a parsed time between the years 1 and 9999
/// formats as text that parses back to the same microsecond (and, before 2106, formats the same).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRFC3339(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let date = RFC3339.parse(text) else { return 0 }
    // Year 1 to 9999 (an offset or a leap second can move an edge date outside).
    guard date.timeIntervalSince1970 >= -62_135_596_800, date.timeIntervalSince1970 < 253_402_300_800 else { return 0 }
    _ = RFC3339.isInfinite(date)
    let formatted = RFC3339.format(date)
    guard let again = RFC3339.parse(formatted) else {
        fatalError("\(text.debugDescription) formatted as \(formatted), which does not parse")
    }
    // A Date counts seconds from 2001 in a Double: more than 2^32 s from 2001 (before 1865,
    // after 2137) it cannot hold every microsecond, so formatting the parsed text again may move
    // it by one (found in 1843): the text is checked stable only within that range.
    let exact = abs(date.timeIntervalSinceReferenceDate) < 4_294_967_296
    guard abs(again.timeIntervalSince(date)) <= 1e-6 * 1.5 + abs(date.timeIntervalSince1970) * 1e-15,
        !exact || RFC3339.format(again) == formatted
    else {
        fatalError("\(text.debugDescription) → \(formatted) → \(RFC3339.format(again)): round trip moved")
    }
    return 0
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzRFC3339_main")
public func fuzzRFC3339Main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzRFC3339)
}
