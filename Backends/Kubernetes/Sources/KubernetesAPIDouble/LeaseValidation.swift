import Foundation

/// What the API server checks in a Lease's `spec` (`pkg/apis/coordination/validation`), and how
/// it decodes `metav1.MicroTime`.
enum LeaseValidation {
    /// The layout Go parses a MicroTime with.
    static let layout = "2006-01-02T15:04:05.000000Z07:00"

    /// The 422 causes of a Lease's spec: `leaseDurationSeconds` above 0 and `leaseTransitions`
    /// not negative, when set.
    static func specProblems(_ object: [String: Any]) -> [(field: String, message: String)] {
        guard let spec = object["spec"] as? [String: Any] else { return [] }
        var problems: [(field: String, message: String)] = []
        if let duration = (spec["leaseDurationSeconds"] as? NSNumber)?.int64Value, duration <= 0 {
            problems.append(("spec.leaseDurationSeconds", "Invalid value: \(duration): must be greater than 0"))
        }
        if let transitions = (spec["leaseTransitions"] as? NSNumber)?.int64Value, transitions < 0 {
            problems.append(
                ("spec.leaseTransitions", "Invalid value: \(transitions): must be greater than or equal to 0"))
        }
        return problems
    }

    /// Parses `spec.acquireTime` and `spec.renewTime` as the API server does (400 when a time does
    /// not have exactly six fractional digits) and stores them in UTC, as it reads them back.
    static func normalizeTimes(_ object: inout [String: Any]) throws(APIError) {
        guard var spec = object["spec"] as? [String: Any] else { return }
        for field in ["acquireTime", "renewTime"] {
            guard let value = spec[field], !(value is NSNull) else { continue }
            guard let text = value as? String else {
                throw .badRequest("Lease in version \"v1\" cannot be handled as a Lease: \(field) is not a string")
            }
            guard let utc = utc(text) else {
                throw .badRequest(
                    "Lease in version \"v1\" cannot be handled as a Lease: parsing time \"\(text)\" as "
                        + "\"\(layout)\": cannot parse \"\(text)\" as \"\(layout)\"")
            }
            spec[field] = utc
        }
        object["spec"] = spec
    }

    /// `text` in the MicroTime layout rewritten in UTC (`…Z`), or `nil` when it does not match.
    static func utc(_ text: String) -> String? {
        let b = Array(text.utf8)
        guard b.count == 27 || b.count == 32 else { return nil }
        func digits(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        guard b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x2E,
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19),
            digits(20..<26) != nil, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60,
            second < 60
        else { return nil }
        var offset = 0
        if b.count == 27 {
            guard b[26] == 0x5A else { return nil }
        } else {
            guard b[26] == 0x2B || b[26] == 0x2D, b[29] == 0x3A, let oh = digits(27..<29), let om = digits(30..<32)
            else { return nil }
            offset = (oh * 60 + om) * 60 * (b[26] == 0x2B ? 1 : -1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components) else { return nil }
        let utc = calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: date.addingTimeInterval(TimeInterval(-offset)))
        func pad(_ value: Int?, _ width: Int) -> String {
            let text = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let fraction = String(decoding: b[20..<26], as: UTF8.self)
        return "\(pad(utc.year, 4))-\(pad(utc.month, 2))-\(pad(utc.day, 2))T\(pad(utc.hour, 2)):"
            + "\(pad(utc.minute, 2)):\(pad(utc.second, 2)).\(fraction)Z"
    }
}
