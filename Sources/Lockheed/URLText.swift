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

    /// `text` with any `user:password@` part of an authority replaced, for error messages about
    /// input that did not parse.
    static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://") else { return text }
        let afterScheme = text[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return text }
        let userInfo = authority[..<at]
        let shown = userInfo.contains(":") ? String(userInfo.prefix { $0 != ":" }) + ":***" : String(userInfo)
        return String(text[..<schemeEnd.upperBound]) + shown + String(text[at...])
    }
}
