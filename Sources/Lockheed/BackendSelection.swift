import Foundation
import LockheedCore

/// Where a backend configuration came from, for messages such as `using sqlite: (default)`.
public enum BackendSource: Sendable, Hashable, CustomStringConvertible {
    /// A command-line argument (`--backend`).
    case argument
    /// The `LOCKHEED_BACKEND` environment variable.
    case environment
    /// A configuration file, by path.
    case configFile(String)
    /// Nothing was configured: the default.
    case `default`

    /// A short phrase for people.
    public var description: String {
        switch self {
        case .argument: "from --backend"
        case .environment: "from \(BackendSelection.backendVariable)"
        case .configFile(let path): "from \(path)"
        case .default: "default"
        }
    }
}

/// Picks the backend configuration the way the `lockheed` command does: an explicit argument,
/// else `LOCKHEED_BACKEND`, else `backend = URL` in a config file named by argument or by
/// `LOCKHEED_CONFIG`, else ``BackendConfiguration/default`` (SQLite in the state directory).
public enum BackendSelection {
    /// The environment variable holding a backend URL.
    public static let backendVariable = "LOCKHEED_BACKEND"
    /// The environment variable naming a config file.
    public static let configVariable = "LOCKHEED_CONFIG"

    /// Resolves the configuration and says where it came from.
    public static func resolve(
        argument: String? = nil,
        configFile: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LockheedError) -> (configuration: BackendConfiguration, source: BackendSource) {
        if let argument {
            return (try BackendConfiguration(url: argument, environment: environment), .argument)
        }
        if let value = environment[backendVariable], !value.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                return (try BackendConfiguration(url: value, environment: environment), .environment)
            } catch {
                throw .invalidConfiguration("\(backendVariable): \(Self.message(of: error))")
            }
        }
        let path = configFile ?? environment[configVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let path {
            let url = try ConfigFile.backendURL(at: path)
            do {
                return (try BackendConfiguration(url: url, environment: environment), .configFile(path))
            } catch {
                throw .invalidConfiguration("\(path): \(Self.message(of: error))")
            }
        }
        return (.default, .default)
    }

    private static func message(of error: LockheedError) -> String {
        if error.code == .invalidConfiguration { return error.message }
        return error.description
    }
}

/// The config file format: `key = value` lines, `#` comments, blank lines ignored. The one key
/// read is `backend`; quotes around the value are optional.
///
/// ```text
/// # ~/.config/lockheed.conf
/// backend = "redis://locks.internal:6379/2?prefix=ci"
/// ```
public enum ConfigFile {
    /// The `backend` value of the file at `path`.
    public static func backendURL(at path: String) throws(LockheedError) -> String {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw .invalidConfiguration("cannot read config file \(path): \(error.localizedDescription)")
        }
        return try backendURL(parsing: text, path: path)
    }

    /// The `backend` value in config file text; `path` names it in errors.
    public static func backendURL(parsing text: String, path: String) throws(LockheedError) -> String {
        var backend: String?
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw .invalidConfiguration(
                    "\(path):\(number + 1): expected `key = value` (for example: backend = \"sqlite:\")")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") {
                value = String(value.dropFirst().dropLast())
            }
            guard key == "backend" else {
                // Name the key only when it reads as one: a URL line without `backend =` would
                // otherwise be quoted up to its first `=`, a password's piece included.
                let isName =
                    !key.isEmpty
                    && key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0 == "_" || $0 == "-" }
                let shown = isName ? "\"\(key)\"" : "(not a key name)"
                throw .invalidConfiguration("\(path):\(number + 1): unknown key \(shown) (the only key is backend)")
            }
            guard backend == nil else { throw .invalidConfiguration("\(path):\(number + 1): backend is set twice") }
            backend = value
        }
        guard let backend else {
            throw .invalidConfiguration("\(path): no `backend = URL` line (for example: backend = \"sqlite:\")")
        }
        return backend
    }
}
