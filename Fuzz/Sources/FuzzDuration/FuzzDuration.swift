import Foundation
import FuzzDriver
import LockheedCore

/// `DurationSyntax`: parsing never crashes; a parsed duration lies within 0...maximum and formats
/// as text that parses back to exactly the same duration. Formatting any duration (built from the
/// input's first 16 bytes) never crashes either.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDuration(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: bytes, as: UTF8.self)
    if let duration = try? DurationSyntax.parse(text) {
        guard duration >= .zero, duration <= DurationSyntax.maximum, DurationSyntax.hasDurationForm(text) else {
            fatalError("\(text.debugDescription) parsed to \(duration), outside 0...maximum")
        }
        let formatted = DurationSyntax.format(duration)
        guard let again = try? DurationSyntax.parse(formatted), again == duration else {
            fatalError("\(text.debugDescription) → \(duration) → \(formatted) does not parse back")
        }
    }
    if bytes.count >= 16 {
        var seconds: Int64 = 0
        var attoseconds: Int64 = 0
        for index in 0..<8 {
            seconds = seconds << 8 | Int64(bytes[index])
            attoseconds = attoseconds << 8 | Int64(bytes[index + 8])
        }
        // Keep `components` itself in range: whole seconds within Int64, less than a second over.
        seconds = min(max(seconds, .min + 1), .max - 1)
        let duration = Duration(
            secondsComponent: seconds, attosecondsComponent: attoseconds % 1_000_000_000_000_000_000)
        _ = DurationSyntax.format(duration)
        _ = duration.wholeMilliseconds
    }
    return 0
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzDuration_main")
public func fuzzDurationMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzDuration)
}
