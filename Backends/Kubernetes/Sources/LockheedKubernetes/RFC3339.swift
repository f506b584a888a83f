import Foundation

/// RFC 3339 timestamps as Go's `time.Time` writes and reads them in JSON.
enum RFC3339 {
    /// Go's "no expiry" value in the original's lock records.
    static let infinite = "9999-12-31T23:59:59Z"

    /// Whether `date` is far enough in the future to mean "never" (year 9999).
    static func isInfinite(_ date: Date) -> Bool { date.timeIntervalSince1970 >= 253_370_764_800 }

    /// `2026-11-25T20:30:00.123456Z`: UTC with microseconds, which Go parses.
    static func format(_ date: Date) -> String {
        // RFC 3339 has four-digit years: a date outside 0001-01-01…9999-12-31 (reachable only
        // from an odd stored record) is written as the nearest end, never trapping.
        let seconds = min(max(date.timeIntervalSince1970, -62_135_596_800), 253_402_300_800)
        // Whole seconds and the fraction apart: `seconds * 1_000_000` adds a rounding of up to
        // 0.25 µs far from 1970; the subtraction is exact and the fraction's product is not
        // rounded, so the only error left is the `Date`'s own.
        let whole = seconds.rounded(.down)
        let total = min(
            Int64(whole) * 1_000_000 + Int64(((seconds - whole) * 1_000_000).rounded()), 253_402_300_799_999_999)
        let days = total >= 0 ? total / 86_400_000_000 : (total - 86_399_999_999) / 86_400_000_000
        let micros = total - days * 86_400_000_000
        let (year, month, day) = civil(fromDays: days)
        let daySeconds = micros / 1_000_000
        let fraction = micros % 1_000_000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(daySeconds / 3600, 2)):"
            + "\(pad(daySeconds / 60 % 60, 2)):\(pad(daySeconds % 60, 2)).\(pad(fraction, 6))Z"
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `nil` when malformed.
    static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 20 else { return nil }
        func number(_ start: Int, _ length: Int) -> Int64? {
            guard start + length <= b.count else { return nil }
            var value: Int64 = 0
            for i in start..<(start + length) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int64(b[i] - 0x30)
            }
            return value
        }
        guard let year = number(0, 4), b[4] == 0x2D, let month = number(5, 2), b[7] == 0x2D,
            let day = number(8, 2), b[10] == 0x54 || b[10] == 0x74, let hour = number(11, 2), b[13] == 0x3A,
            let minute = number(14, 2), b[16] == 0x3A, let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 0x30, b[index] <= 0x39 {
                fraction += Double(b[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        guard index < b.count else { return nil }
        var offset: Int64 = 0
        if b[index] == 0x5A || b[index] == 0x7A {
            index += 1
        } else if b[index] == 0x2B || b[index] == 0x2D {
            guard let oh = number(index + 1, 2), index + 3 < b.count, b[index + 3] == 0x3A,
                let om = number(index + 4, 2)
            else { return nil }
            offset = (oh * 3600 + om * 60) * (b[index] == 0x2D ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
