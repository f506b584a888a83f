import Foundation
import LockheedCore

/// Durations written as text, as URLs and the command line take them: `500ms`, `10s`, `1.5m`,
/// `2h`, `250us`, `10ns`, or a bare number of seconds; at most
/// ``LockheedCore/AcquireRequest/maximumDuration`` (100 years).
///
/// Parsing is exact to the nanosecond (no floating point), and ``format(_:)`` writes every
/// duration that ``parse(_:)`` returns so that it parses back to the same value.
public enum DurationSyntax {
    /// The longest duration accepted: ``LockheedCore/AcquireRequest/maximumDuration``.
    public static let maximum: Duration = AcquireRequest.maximumDuration

    private static let units: [(suffix: String, nanoseconds: Int64)] = [
        ("ms", 1_000_000), ("us", 1_000), ("ns", 1), ("s", 1_000_000_000), ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
    ]

    /// Parses `text`, throwing ``LockheedCore/LockheedError/invalidConfiguration(_:)`` with an
    /// example when it is not a non-negative duration, or when it is longer than ``maximum``.
    public static func parse(_ text: String) throws(LockheedError) -> Duration {
        guard let (whole, fraction, unit) = split(text) else {
            throw .invalidConfiguration("\"\(text)\" is not a duration; write it like 500ms, 10s, 1.5m or 2h")
        }
        let maximumNanoseconds = Int128(maximum.components.seconds) * 1_000_000_000
        let tooLong = LockheedError.invalidConfiguration(
            "\"\(text)\" is too long: a duration is at most \(AcquireRequest.maximumDurationText) (\(format(maximum)))")
        // 20 significant digits already exceed the maximum in any unit.
        let digits = whole.drop { $0 == "0" }
        guard digits.count <= 20 else { throw tooLong }
        var total = Int128(0)
        for digit in digits.utf8 { total = total * 10 + Int128(digit - UInt8(ascii: "0")) }
        total *= Int128(unit)
        // Digits past the 18th of a fraction are below a nanosecond in every unit but hours
        // (where the 18th is 3.6e-6 ns): round half up on the first 18.
        let kept = fraction.prefix(18)
        if !kept.isEmpty {
            var numerator = Int128(0)
            for digit in kept.utf8 { numerator = numerator * 10 + Int128(digit - UInt8(ascii: "0")) }
            var denominator = Int128(1)
            for _ in 0..<kept.count { denominator *= 10 }
            total += (numerator * Int128(unit) + denominator / 2) / denominator
        }
        guard total <= maximumNanoseconds else { throw tooLong }
        return .nanoseconds(Int64(total))
    }

    /// Whether `text` is written as a duration (digits, an optional fraction and unit), in range
    /// or not: the command line uses it to tell `--wait 5m` from `--wait NAME`.
    public static func hasDurationForm(_ text: String) -> Bool { split(text) != nil }

    /// `text` as whole digits, fraction digits and the unit's nanoseconds; `nil` when malformed.
    private static func split(_ text: String) -> (Substring, Substring, Int64)? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(trimmed)
        var unit: Int64 = 1_000_000_000
        for candidate in units where trimmed.hasSuffix(candidate.suffix) {
            number = number.dropLast(candidate.suffix.count)
            unit = candidate.nanoseconds
            break
        }
        let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        let isDigits = { (part: Substring) in
            part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
        guard !whole.isEmpty || !fraction.isEmpty, isDigits(whole), isDigits(fraction) else { return nil }
        return (whole, fraction, unit)
    }

    /// Formats `duration` exactly (to the nanosecond) in the largest unit that keeps it short,
    /// e.g. `2h`, `90s`, `1.5s`, `250ms` or `150us`; the text parses back to the same value.
    /// Negative durations get a leading `-` (which ``parse(_:)`` refuses). Never traps.
    public static func format(_ duration: Duration) -> String {
        let (wholeSeconds, attoseconds) = duration.components
        let sign = duration < .zero ? "-" : ""
        let seconds = wholeSeconds.magnitude
        let nanoseconds = Int64(attoseconds.magnitude / 1_000_000_000)
        if nanoseconds == 0 {
            if seconds == 0 { return "0s" }
            if seconds % 3600 == 0 { return "\(sign)\(seconds / 3600)h" }
            if seconds % 60 == 0 { return "\(sign)\(seconds / 60)m" }
            return "\(sign)\(seconds)s"
        }
        if seconds > 0 { return "\(sign)\(seconds)" + decimals(nanoseconds, width: 9) + "s" }
        if nanoseconds >= 1_000_000 {
            return "\(sign)\(nanoseconds / 1_000_000)" + decimals(nanoseconds % 1_000_000, width: 6) + "ms"
        }
        if nanoseconds >= 1_000 {
            return "\(sign)\(nanoseconds / 1_000)" + decimals(nanoseconds % 1_000, width: 3) + "us"
        }
        return "\(sign)\(nanoseconds)ns"
    }

    /// `.5`, `.25`, `.000001` for a fraction of `width` digits; empty for zero.
    private static func decimals(_ value: Int64, width: Int) -> String {
        guard value > 0 else { return "" }
        var digits = String(value)
        digits = String(repeating: "0", count: max(0, width - digits.count)) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "." + digits
    }
}
