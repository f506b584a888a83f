import Foundation

#if canImport(Glibc)
    import Glibc

    private let systemWrite = Glibc.write
#elseif canImport(Darwin)
    import Darwin

    private let systemWrite = Darwin.write
#endif

/// Writing to stderr, the way every `lockheed` message goes.
enum Terminal {
    /// Whether stderr is a terminal (live indicators, prompts).
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    /// Whether stdin is a terminal (confirmation prompts).
    static var stdinIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }

    /// The width of the terminal on stderr, or 80 when unknown.
    static var columns: Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Writes `text` to stderr as is.
    static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in
                systemWrite(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
            }
            if written <= 0 {
                if written < 0 && errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Writes `lockheed: message` and a newline to stderr.
    static func note(_ message: String) { write("lockheed: \(message)\n") }

    /// Writes `lockheed: error: message` and a newline to stderr.
    static func error(_ message: String) { write("lockheed: error: \(message)\n") }

    /// Writes a line to stdout.
    static func output(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    /// The column a condition error message names (`column N: …`).
    static func column(in message: String) -> Int? {
        guard let range = message.range(of: "column ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// Shows the condition `text` with a caret under `column` (1-based).
    static func pointAt(column: Int, in text: String) {
        write("  \(text)\n  \(String(repeating: " ", count: max(0, column - 1)))^\n")
    }
}
