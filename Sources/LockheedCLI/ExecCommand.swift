import ArgumentParser
import Foundation
import Lockheed

#if canImport(Glibc)
    import Glibc
#endif

/// `lockheed exec NAME -- COMMAND…`: flock(1) across processes, machines and clusters.
struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a command while holding a lock; release it when the command exits.",
        discussion: """
            Acquires NAME (waiting for it unless --no-wait), runs COMMAND,
            renews the lease while it runs, releases it when COMMAND exits,
            and exits with COMMAND's status. While waiting, stderr says who
            holds the lock and until when. SIGINT, SIGTERM, SIGHUP and SIGQUIT
            are forwarded to COMMAND. If the lease is lost (broken by an
            administrator, or not renewable before it expired), COMMAND gets
            SIGTERM, then SIGKILL after --kill-grace, and lockheed exits 76.

            EXAMPLES
              lockheed exec nightly-report -- ./report.sh
              lockheed exec --no-wait deploy -- make deploy    # 75 if busy
              lockheed exec --wait 10m --tag ci db-migrate -- ./migrate
              lockheed exec --shared 3 gpu -- ./train.sh       # 3 at once
              lockheed exec --force-if 'holder contains "ci-"' deploy -- make
              lockheed exec --backend redis://locks:6379/0 job -- ./job.sh

            \(ExitStatus.helpText)
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The lock's name: 1-63 lowercase letters, digits, '-' and '.'.")
    var name: String

    @Option(
        help: ArgumentHelp(
            "Lease duration, renewed while COMMAND runs (at most 100 years; 'none': no expiry).",
            valueName: "duration"))
    var duration: String = "30s"

    @Option(help: ArgumentHelp("How often to renew (default: a third of --duration).", valueName: "duration"))
    var renewInterval: String?

    @Option(name: .customLong("tag"), help: ArgumentHelp("A tag to set on the lock (repeatable).", valueName: "tag"))
    var tags: [String] = []

    @Option(help: ArgumentHelp("Take a shared lock admitting up to N holders at once (1-10000).", valueName: "n"))
    var shared: Int?

    @Option(
        help: ArgumentHelp(
            "Wait for the lock, for at most DURATION if given (default: wait as long as it takes).",
            valueName: "duration"))
    var wait: String?

    @Flag(help: "Fail at once (exit 75) if the lock is held.")
    var noWait = false

    @Option(
        name: .customLong("force-if"),
        help: ArgumentHelp(
            "Take the lock over from other holders when its state matches CONDITION, "
                + "e.g. 'acquired and tags contains nightly'.", valueName: "condition"))
    var forceIf: String?

    @Option(help: ArgumentHelp("This holder's id (default: host-pid-random).", valueName: "id"))
    var holder: String?

    @Option(
        help: ArgumentHelp(
            "After a lost lease, how long COMMAND has between SIGTERM and SIGKILL (at most 1h).",
            valueName: "duration"))
    var killGrace: String = "10s"

    @Flag(name: [.short, .long], help: "Print nothing of lockheed's own, only errors.")
    var quiet = false

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after --.")
    var command: [String] = []

    func validate() throws {
        if command.isEmpty {
            throw ValidationError("give the command to run after --, e.g. lockheed exec \(name) -- make")
        }
        if noWait && wait != nil { throw ValidationError("--wait and --no-wait exclude each other") }
    }

    /// The lock options the flags describe.
    func lockOptions() throws(LockheedError) -> (options: LockOptions, grace: Duration) {
        var options = LockOptions()
        options.duration = ["none", "never", "forever"].contains(duration) ? nil : try DurationSyntax.parse(duration)
        if let renewInterval { options.renewInterval = try DurationSyntax.parse(renewInterval) }
        options.tags = tags
        if let shared { options.type = .shared(maxHolders: shared) }
        if noWait {
            options.retry = .none
        } else {
            var deadline: Duration?
            if let wait, wait != "forever" { deadline = try DurationSyntax.parse(wait) }
            options.retry = RetryPolicy(
                maxAttempts: nil, initialDelay: .milliseconds(50), maxDelay: .milliseconds(500), deadline: deadline)
        }
        try options.validate()
        let grace = try DurationSyntax.parse(killGrace)
        guard grace <= Self.maximumKillGrace else {
            throw .invalidConfiguration(
                "--kill-grace must be at most \(DurationSyntax.format(Self.maximumKillGrace)), not \(killGrace)")
        }
        return (options, grace)
    }

    /// The longest --kill-grace: a command that ignores SIGTERM longer than this is not stopping.
    static let maximumKillGrace: Duration = .seconds(3600)

    func run() async throws {
        let force = try forceIf.map { try parseCondition($0, option: "--force-if") }
        let settings: (options: LockOptions, grace: Duration)
        do { settings = try lockOptions() } catch { throw failure(error) }
        var options = settings.options
        options.force = force
        let status = try await withLocker(global) { locker, configuration in
            let lock = try Lock(name, locker: locker, holder: holder, options: options, logger: global.logger)
            return await runLocked(lock, backend: configuration, grace: settings.grace)
        }
        if status != 0 { throw ExitCode(status) }
    }

    private enum Outcome: Sendable {
        case exited(Int32)
        case spawnFailed(SpawnedChild.SpawnError)
    }

    /// Waits for the lock, runs the command under it, and returns lockheed's exit status.
    private func runLocked(_ lock: Lock, backend: BackendConfiguration, grace: Duration) async -> Int32 {
        let reporter = WaitReporter(
            name: name, quiet: quiet, live: Terminal.stderrIsTerminal, waits: !noWait,
            deadline: lock.options.retry.deadline)
        let events = lock.events()
        let reporting = Task { await reporter.run(events) }
        defer { reporting.cancel() }
        let command = self.command
        let forwarder = SignalForwarder()
        let work = Task<Result<Outcome, any Error>, Never> {
            do {
                return .success(
                    try await lock.withLock { held in
                        reporter.acquired(held.lease)
                        return await Self.runCommand(command, grace: grace, forwarder: forwarder)
                    })
            } catch {
                return .failure(error)
            }
        }
        forwarder.whenNoChild { work.cancel() }
        let result = await work.value
        reporter.clearLine()
        if let signal = forwarder.receivedWithoutChild {
            Terminal.note("stopped by signal \(signal) before the command ran")
            return 128 + signal
        }
        switch result {
        case .success(.exited(let status)):
            if !quiet { Terminal.note("released \"\(name)\" (the command exited with status \(status))") }
            return status
        case .success(.spawnFailed(let error)):
            Terminal.error(error.message)
            return error.exitStatus
        case .failure(LockheedError.lost):
            Terminal.error("the lease on \"\(name)\" was lost while the command ran; it was stopped")
            return ExitStatus.lost
        case .failure(LockheedError.held(_, let holders)):
            let waited = wait.map { " after waiting \($0)" } ?? ""
            Terminal.error(
                "\"\(name)\" is busy\(waited): held by \(LockReport.holders(holders, now: Date()))")
            return ExitStatus.busy
        case .failure(let error as LockheedError):
            return failure(error).rawValue
        case .failure(let error):
            Terminal.error("\(error)")
            return ExitStatus.backendFailure
        }
    }

    /// Spawns `command`, forwards signals to it, and waits for it; on cancellation (lease lost)
    /// sends SIGTERM, then SIGKILL after `grace`.
    private static func runCommand(_ command: [String], grace: Duration, forwarder: SignalForwarder?) async -> Outcome {
        let child: SpawnedChild
        do { child = try SpawnedChild.spawn(command) } catch { return .spawnFailed(error) }
        forwarder?.attach(child)
        defer { forwarder?.detach() }
        return await withTaskCancellationHandler {
            .exited(await child.exitStatus())
        } onCancel: {
            child.signal(SIGTERM)
            Task {
                try? await Task.sleep(for: grace)
                child.signal(SIGKILL)
            }
        }
    }
}
