import Foundation
import FuzzDriver
import LockheedCore

/// Backend URLs: parsing never crashes and fails only with `.invalidConfiguration`; a parsed
/// configuration's description parses back to the same configuration; and a password placed in
/// any URL shape never shows in a description or an error.
///
/// Input: the URL, or `PASSWORD \0 REST`: then the password (every character separated by a
/// `\u{1}` marker, so any leaked slice of two characters holds one) is put into several URL
/// shapes around REST, and no output may contain the marker.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBackendURL(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let nul = bytes.firstIndex(of: 0) else {
        checkRoundTrip(String(decoding: bytes, as: UTF8.self))
        return 0
    }
    let marker: Character = "\u{1}"
    let password = String(decoding: bytes[..<nul], as: UTF8.self).filter { $0 != marker && $0 != "\0" }
    let rest = String(decoding: bytes[(nul + 1)...], as: UTF8.self).filter { $0 != marker }
    let marked = String(marker) + password.map { String($0) + String(marker) }.joined()
    let shapes = [
        "redis://user:\(marked)@\(rest)", "redis://:\(marked)@\(rest)", "redis:user:\(marked)@\(rest)",
        "redis://user:\(marked)@localhost:6379/0\(rest)", "rediss://user:\(marked)@\(rest)",
        "kubernetes://user:\(marked)@\(rest)", "sqlite://user:\(marked)@\(rest)", "\(rest)://user:\(marked)@host",
        "redis://localhost/0?password=\(marked)\(rest)", "\(rest)?password=\(marked)", "\(rest)?a=b&password=\(marked)",
        "redis://localhost/0?prefix=\(rest)&pass=\(marked)", "\(rest)user:\(marked)@host",
    ]
    for url in shapes {
        let shown: String
        do { shown = try BackendConfiguration(url: url, environment: [:]).description } catch {
            shown = error.description
        }
        if shown.contains(marker) {
            fatalError("the password leaked from \(url.debugDescription): \(shown.debugDescription)")
        }
    }
    return 0
}

/// Parses `text`; a success must print as a URL that parses back to the same configuration.
private func checkRoundTrip(_ text: String) {
    let configuration: BackendConfiguration
    do { configuration = try BackendConfiguration(url: text, environment: [:]) } catch {
        guard error.code == .invalidConfiguration else { fatalError("untyped URL error \(error)") }
        return
    }
    var expected = configuration
    if case .redis(var parts) = configuration, parts.password != nil {
        parts.password = "p"
        expected = .redis(parts)
    }
    let printed = configuration.description.replacingOccurrences(of: ":***@", with: ":p@")
    do {
        let reparsed = try BackendConfiguration(url: printed, environment: [:])
        guard reparsed == expected else {
            fatalError("\(text.debugDescription) printed as \(printed.debugDescription), which parses differently")
        }
    } catch {
        fatalError("\(text.debugDescription) printed as \(printed.debugDescription), which fails: \(error)")
    }
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzBackendURL_main")
public func fuzzBackendURLMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    lockheed_fuzz_main(argc, argv, fuzzBackendURL)
}
