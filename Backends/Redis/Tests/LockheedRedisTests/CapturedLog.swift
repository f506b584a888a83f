import Logging
import Synchronization

/// Log lines kept in memory, for tests that check what a locker logs.
final class CapturedLog: Sendable {
    private let lines = Mutex<[(level: Logger.Level, text: String)]>([])

    /// A logger writing to this capture, at `trace` level.
    func logger(label: String = "lockheed.redis") -> Logger {
        var logger = Logger(label: label) { _ in CapturingHandler(log: self) }
        logger.logLevel = .trace
        return logger
    }

    /// Every line so far: level, message and metadata.
    var entries: [(level: Logger.Level, text: String)] { lines.withLock { $0 } }

    /// The lines logged at `level`.
    func messages(at level: Logger.Level) -> [String] { entries.filter { $0.level == level }.map(\.text) }

    fileprivate func append(_ level: Logger.Level, _ text: String) { lines.withLock { $0.append((level, text)) } }
}

private struct CapturingHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        log.append(event.level, "\(event.message) \(merged)")
    }
}
