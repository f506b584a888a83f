import ArgumentParser
import Foundation
import Lockheed
import Logging
import Synchronization

/// Options every subcommand takes: which backend, and how chatty.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Backend URL: sqlite:, sqlite:///ABSOLUTE/PATH, redis://[USER:PASSWORD@]HOST[:PORT][/DB], "
                + "postgres://USER[:PASSWORD]@HOST[:PORT]/DB?schema=S, kubernetes:, "
                + "kubernetes://NAMESPACE, memory:. Default: $LOCKHEED_BACKEND, else the config file, else sqlite:.",
            valueName: "url"))
    var backend: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A file with a `backend = URL` line (default: $LOCKHEED_CONFIG).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Kubernetes namespace (overrides the URL's).", valueName: "namespace"))
    var namespace: String?

    @Flag(name: [.short, .long], help: "Log every lock event (acquire attempts, renewals, release) to stderr.")
    var verbose = false

    /// The configured backend and where it came from, with `--namespace` applied.
    func resolveBackend() throws(LockheedError) -> (configuration: BackendConfiguration, source: BackendSource) {
        let resolved = try BackendSelection.resolve(argument: backend, configFile: config)
        var configuration = resolved.configuration
        if let namespace {
            guard case .kubernetes(var parts) = configuration else {
                throw .invalidConfiguration(
                    "--namespace applies to the kubernetes backend, but the backend is \(configuration.scheme):")
            }
            if let problem = LockName.problem(with: namespace) {
                throw .invalidConfiguration("--namespace \"\(namespace)\" is not a valid namespace: it \(problem)")
            }
            parts.namespace = namespace
            configuration = .kubernetes(parts)
        }
        return (configuration, resolved.source)
    }

    /// Sets up logging (stderr; everything with `--verbose`, otherwise silent) and opens the locker.
    func openLocker() throws(LockheedError) -> (locker: any Locker, configuration: BackendConfiguration) {
        LogSetup.bootstrap(verbose: verbose)
        let (configuration, source) = try resolveBackend()
        if verbose { Terminal.note("backend \(configuration) (\(source))") }
        return (try configuration.makeLocker(), configuration)
    }

    /// The logger handed to locks.
    var logger: Logger {
        var logger = Logger(label: "lockheed")
        logger.logLevel = verbose ? .trace : .critical
        return logger
    }
}

/// Runs `body` with a locker from `options`, shutting it down afterwards, and turns library
/// errors into the documented exit statuses.
func withLocker<T>(
    _ options: GlobalOptions,
    condition: String? = nil,
    _ body: (any Locker, BackendConfiguration) async throws -> T
) async throws -> T {
    let opened: (locker: any Locker, configuration: BackendConfiguration)
    do { opened = try options.openLocker() } catch { throw failure(error) }
    do {
        let result = try await body(opened.locker, opened.configuration)
        await opened.locker.shutdown()
        return result
    } catch let error as LockheedError {
        await opened.locker.shutdown()
        throw failure(error, condition: condition)
    } catch {
        await opened.locker.shutdown()
        throw error
    }
}

/// Bootstraps swift-log once: records go to stderr (never stdout, which carries `list` output);
/// everything with `--verbose`, otherwise errors only.
enum LogSetup {
    /// Bootstraps on the first call; later calls do nothing.
    static func bootstrap(verbose: Bool) {
        guard
            !Self.bootstrapped.withLock({ done in
                defer { done = true }
                return done
            })
        else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .trace : .error
            return handler
        }
    }

    private static let bootstrapped = Mutex(false)
}

/// Parses a condition option, printing the error with a caret under the column.
func parseCondition(_ text: String, option: String) throws -> Condition {
    do { return try Condition(parsing: text) } catch {
        Terminal.error("\(option): \(error)")
        if error.code == .invalidCondition, let column = Terminal.column(in: error.message) {
            Terminal.pointAt(column: column, in: text)
        }
        throw ExitCode(ExitStatus.usage)
    }
}
