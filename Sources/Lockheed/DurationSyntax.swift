import Foundation
import LockheedCore

/// Durations written as text, as URLs and the command line take them: `500ms`, `10s`, `1.5m`,
/// `2h`, or a bare number of seconds.
public enum DurationSyntax {
    /// Parses `text`, throwing ``LockheedCore/LockheedError/invalidConfiguration(_:)`` with an
    /// example when it is not a non-negative duration.
    public static func parse(_ text: String) throws(LockheedError) -> Duration {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(suffix: String, seconds: Double)] = [
            ("ms", 0.001), ("us", 0.000_001), ("ns", 0.000_000_001), ("s", 1), ("m", 60), ("h", 3600),
        ]
        var number = Substring(trimmed)
        var scale = 1.0
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            scale = unit.seconds
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
            let value = Double(number), value.isFinite
        else {
            throw .invalidConfiguration(
                "\"\(text)\" is not a duration; write it like 500ms, 10s, 1.5m or 2h")
        }
        return .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    /// Formats `duration` in the shortest unit that keeps it readable, e.g. `1.5s` or `250ms`.
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.timeInterval
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds >= 1 || seconds == 0 { return trim(seconds) + "s" }
        return trim(seconds * 1000) + "ms"
    }

    private static func trim(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    }
}
