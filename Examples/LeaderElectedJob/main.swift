import Foundation
import Lockheed
import LockheedLeaderElection
import Logging
import ServiceLifecycle
import UnixSignals

// LeaderElectedJob: a periodic job that runs only on the elected leader of a fleet.
// Each period records token, start and end (monotonic ms) and identity in the history file;
// a period cut short by loss of leadership or shutdown is recorded up to the moment it stopped.

let arguments: JobArguments
do {
    arguments = try JobArguments.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("LeaderElectedJob: \(error)\n\(JobArguments.usage)\n".utf8))
    exit(64)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .info
    return handler
}
let logger = Logger(label: "LeaderElectedJob")

do {
    let locker = try BackendConfiguration(url: arguments.backend).makeLocker()
    var options = LeaderElectionOptions(
        duration: arguments.options.duration, renewInterval: arguments.options.renewInterval)
    options.retryDelay = arguments.options.retryDelay
    let history = JobHistory(path: arguments.history)
    let identity = arguments.identity
    let period = arguments.period
    let election = try LeaderElection(
        arguments.lock, locker: locker, identity: identity, options: options, logger: logger
    ) { leadership in
        while true {
            let start = JobHistory.nowMilliseconds()
            var stopped: (any Error)?
            do { try await Task.sleep(for: period) } catch { stopped = error }  // the job's work
            try history.append(
                token: leadership.fencingToken, start: start, end: JobHistory.nowMilliseconds(), identity: identity)
            if let stopped { throw stopped }
        }
    }
    let group = ServiceGroup(
        services: [election], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [],
        logger: logger)
    try await group.run()
    await locker.shutdown()
} catch {
    logger.error("LeaderElectedJob failed: \(error)")
    switch (error as? LockheedError)?.code {
    case .invalidConfiguration, .invalidName, .invalidTag, .invalidHolder: exit(64)
    default: exit(1)
    }
}
