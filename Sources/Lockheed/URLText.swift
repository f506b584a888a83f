import Foundation

/// Percent-encoding helpers for backend URLs.
enum URLText {
    /// RFC 3986 unreserved characters.
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".unicodeScalars)
    /// Characters left as they are in a path.
    static let pathCharacters = unreserved.union("/:@+,=".unicodeScalars)

    /// `text` with every scalar outside `allowing` percent-encoded as UTF-8.
    static func escape(_ text: String, allowing allowed: Set<Unicode.Scalar>) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if allowed.contains(scalar) {
                result.unicodeScalars.append(scalar)
            } else {
                for byte in String(scalar).utf8 { result += String(format: "%%%02X", byte) }
            }
        }
        return result
    }

    /// Decodes `%XX` sequences; `nil` when one is malformed or the bytes are not UTF-8.
    static func unescape(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "%") {
                let first = utf8.index(after: index)
                guard first < utf8.endIndex, utf8.index(after: first) < utf8.endIndex else { return nil }
                let second = utf8.index(after: first)
                guard let high = hexValue(utf8[first]), let low = hexValue(utf8[second]) else { return nil }
                bytes.append(high << 4 | low)
                index = utf8.index(after: second)
            } else {
                bytes.append(byte)
                index = utf8.index(after: index)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `?a=b&c=d`, or nothing for no items.
    static func query(_ items: [String]) -> String { items.isEmpty ? "" : "?" + items.joined(separator: "&") }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Decodes `%XX` sequences in a slice of scalars; `nil` when one is malformed.
    static func unescape(_ scalars: Substring.UnicodeScalarView) -> String? { unescape(Substring(scalars)) }

    /// The index of the `:` ending a URL's scheme (`ALPHA *(ALPHA / DIGIT / "+" / "-" / ".")`),
    /// or `nil` when `text` does not start with one.
    static func schemeEnd(in text: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index? {
        guard let colon = text.firstIndex(of: ":"), let first = text.first, first != ":",
            isLetter(first),
            text[..<colon].allSatisfy({ isLetter($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
        else { return nil }
        return colon
    }

    private static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
    }

    /// In the text after `//`, the `@` ending the user part: the last `@` whose user name (the
    /// text before the first `:`) holds no `/`, `?` or `#`. Taking the last one lets a password
    /// hold `@`, and anything after the user name's `:` belongs to the password, `/ ? # @`
    /// included; a user name cannot hold `/ ? #`, which keeps `?context=admin@prod` a parameter
    /// when there is no user part. Scalars, not Characters: `@` before a combining mark counts.
    static func userInfoEnd(in afterSlashes: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index? {
        guard let last = afterSlashes.lastIndex(of: "@") else { return nil }
        let colon = afterSlashes.firstIndex(of: ":") ?? afterSlashes.endIndex
        let delimiter = afterSlashes.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterSlashes.endIndex
        // The user name runs to the first `:` or to the `@`, whichever comes first.
        if delimiter >= min(colon, last) { return last }
        // Only an `@` before the first delimiter leaves the user name clean.
        return afterSlashes[..<delimiter].lastIndex(of: "@")
    }

    /// Parameter names that carry secrets; their values are never printed.
    static func isSecretParameter(_ key: some StringProtocol) -> Bool {
        let name = (unescape(Substring(key)) ?? String(key)).lowercased()
        return ["password", "pass", "passwd", "pwd", "secret", "token", "auth"].contains(name)
    }

    /// In query text (after the `?`), where the first parameter named like a secret starts: a
    /// key at the start, after `&`, or after a further `?` (which a value could hold).
    static func secretParameterStart(in query: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView.Index? {
        var start = query.startIndex
        while true {
            let end = query[start...].firstIndex { $0 == "&" || $0 == "?" } ?? query.endIndex
            if isSecretParameter(String(query[start..<end].prefix { $0 != "=" })) { return start }
            guard end < query.endIndex else { return nil }
            start = query.index(after: end)
        }
    }

    /// `text` (a backend URL, valid or not) safe to print: any password is replaced by `***`.
    ///
    /// More cautious than the parser, so that a password never shows whatever the input. Hidden:
    /// after `scheme://`, everything from the user name's `:` to the *last* `@` (all of it when
    /// the user name holds `/ ? #`); without `//`, everything before the last `@`; and the value
    /// of the first parameter named like a secret (`password=`…, after any `?` or `&`) with
    /// everything after it. Delimiters are Unicode scalars, as for the parser.
    static func redacted(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var hidden = [Bool](repeating: false, count: scalars.count)
        var start = 0
        var hasSlashes = false
        if let colon = schemeEnd(in: text[...].unicodeScalars) {
            start = text.unicodeScalars.distance(from: text.unicodeScalars.startIndex, to: colon) + 1
            if scalars[start...].starts(with: ["/", "/"]) {
                start += 2
                hasSlashes = true
            }
        }
        if let at = scalars[start...].lastIndex(of: "@") {
            let colon = scalars[start..<at].firstIndex(of: ":")
            let user = scalars[start..<(colon ?? at)]
            let cleanUser = !user.contains { $0 == "/" || $0 == "?" || $0 == "#" }
            if !hasSlashes || !cleanUser {
                for index in start..<at { hidden[index] = true }
            } else if let colon {
                for index in (colon + 1)..<at { hidden[index] = true }
            }
        }
        var index = start
        while index < scalars.count {
            if index > start, scalars[index - 1] == "?" || scalars[index - 1] == "&" {
                let keyEnd = scalars[index...].firstIndex { $0 == "=" || $0 == "&" || $0 == "?" } ?? scalars.count
                var key = String.UnicodeScalarView()
                key.append(contentsOf: scalars[index..<keyEnd])
                if isSecretParameter(String(key)) {
                    let valueStart = keyEnd < scalars.count && scalars[keyEnd] == "=" ? keyEnd + 1 : keyEnd
                    for hide in valueStart..<scalars.count { hidden[hide] = true }
                    break
                }
            }
            index += 1
        }
        var shown = String.UnicodeScalarView()
        var previousHidden = false
        for (scalar, isHidden) in zip(scalars, hidden) {
            if !isHidden {
                shown.append(scalar)
            } else if !previousHidden {
                shown.append(contentsOf: "***".unicodeScalars)
            }
            previousHidden = isHidden
        }
        return String(shown)
    }
}
