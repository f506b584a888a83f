import ArgumentParser
import Lockheed

/// The exit statuses of `lockheed`, documented in `--help` and README.md.
enum ExitStatus {
    /// list/show/release/break found nothing to act on (no such lock, no lease of that holder,
    /// condition did not match, or the confirmation was declined).
    static let nothingDone: Int32 = 1
    /// Bad usage or configuration: unknown option, invalid name, tag, condition or backend URL.
    static let usage: Int32 = 64
    /// The backend cannot be reached, timed out, or refused the credentials.
    static let unavailable: Int32 = 69
    /// Any other backend failure, such as stored state this version cannot read.
    static let backendFailure: Int32 = 70
    /// The lock is busy: `--no-wait` was refused, or the `--wait` deadline passed.
    static let busy: Int32 = 75
    /// The lease was lost while the command ran; the command was sent SIGTERM (then SIGKILL).
    static let lost: Int32 = 76
    /// The command was found but could not be executed.
    static let cannotExecute: Int32 = 126
    /// The command was not found.
    static let notFound: Int32 = 127

    /// The table printed at the end of `--help`.
    static let helpText = """
        EXIT STATUS
          (exec)  the command's own status (128+N if it died of signal N)
          0       success
          1       nothing to do: no such lock, no lease of that holder,
                  condition did not match, confirmation declined
          64      bad usage or configuration (options, name, condition, URL)
          69      backend unavailable (unreachable, timed out, unauthorized)
          70      other backend failure (e.g. unreadable stored state)
          75      lock busy: --no-wait refused, or the --wait deadline passed
          76      lease lost while the command ran (SIGTERM, then SIGKILL)
          126     command not executable
          127     command not found
          128+N   lockheed got signal N while waiting for the lock
        """

    /// The status for a failure of the library or backend.
    static func forError(_ error: LockheedError) -> Int32 {
        switch error.code {
        case .invalidName, .invalidTag, .invalidHolder, .invalidConfiguration, .invalidCondition, .typeMismatch:
            usage
        case .held: busy
        case .lost: lost
        case .unavailable, .timedOut, .unauthorized, .forbidden: unavailable
        default: backendFailure
        }
    }
}

/// Prints `error` on stderr as `lockheed: error: …` (with a caret under the column for a
/// condition error when `condition` is the text parsed) and returns the exit code for it.
func failure(_ error: LockheedError, condition: String? = nil) -> ExitCode {
    Terminal.error(error.description)
    if error.code == .invalidCondition, let condition, let column = Terminal.column(in: error.message) {
        Terminal.pointAt(column: column, in: condition)
    }
    return ExitCode(ExitStatus.forError(error))
}
