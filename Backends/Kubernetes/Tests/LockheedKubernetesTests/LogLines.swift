import Logging
import Synchronization

/// Collects every log line a locker writes, for tests of what `lockheed -v` would show.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])

    /// Every line so far, as `level: message`.
    var all: [String] { lines.withLock { $0 } }

    /// A logger at `.trace` writing here.
    func logger() -> Logger {
        var logger = Logger(label: "test") { _ in Handler(sink: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ line: String) { lines.withLock { $0.append(line) } }

    private struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            sink.append("\(event.level): \(event.message)")
        }
    }
}
