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
            holds the lock and until when. A backend that cannot be reached
            or keeps failing is not a held lock: it is retried for
            --backend-timeout (default 30s, with what fails on stderr), then
            lockheed exits 69, with or without --wait.

            COMMAND runs in a process group of its own, with only
            descriptors 0-2 open, and these variables in its environment:
              LOCKHEED_FENCING_TOKEN  this grant's fencing token: pass it to
                                      the resource you write, which refuses
                                      tokens lower than one it has seen
              LOCKHEED_LOCK           the lock's name
              LOCKHEED_HOLDER         this holder's id
            SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to lockheed go to the
            whole group; on a terminal the group is in the foreground, so
            Ctrl-C reaches COMMAND directly, once. If the lease is lost
            (broken by an administrator, or not renewable before it
            expired), the group gets SIGTERM, then SIGKILL after
            --kill-grace (at most what remains of the lease's validity), and
            lockheed exits 76; a COMMAND that had already exited on its own
            keeps its status. Processes COMMAND leaves running in its
            group when it exits are stopped the same way before the lock is
            released. If lockheed itself dies (even of SIGKILL), the group
            is killed.

            EXAMPLES
              lockheed exec nightly-report -- ./report.sh
              lockheed exec --no-wait deploy -- make deploy    # 75 if busy
              lockheed exec --wait 10m --tag ci db-migrate -- ./migrate
              lockheed exec --shared 3 gpu -- ./train.sh       # 3 at once
              lockheed exec --force-if 'holder contains "ci-"' deploy -- make
              lockheed exec --backend redis://locks:6379/0 job -- ./job.sh
              lockheed exec db-migrate -- sh -c \\
                './migrate --fencing-token "$LOCKHEED_FENCING_TOKEN"'

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
        help: ArgumentHelp(
            "How long to keep retrying a backend that is unreachable or failing (not a held lock) before "
                + "exiting 69; 'forever' retries as long as --wait allows.",
            valueName: "duration"))
    var backendTimeout: String = "30s"

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
            "After a lost lease, how long COMMAND has between SIGTERM and SIGKILL "
                + "(at most 1h, and never past the lease's certain validity).", valueName: "duration"))
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
        options.backendTimeout =
            ["forever", "none"].contains(backendTimeout) ? nil : try DurationSyntax.parse(backendTimeout)
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
        case spawnFailed(SpawnError)
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
        let quiet = self.quiet
        let forwarder = SignalForwarder()
        let record = CommandRecord()
        let work = Task<Result<Outcome, any Error>, Never> {
            do {
                return .success(
                    try await lock.withLock { held in
                        reporter.acquired(held.lease)
                        let run = CommandRun(
                            command: command, held: held, grace: grace, quiet: quiet, record: record)
                        return await Self.runCommand(run, lock: lock, forwarder: forwarder)
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
            if record.endObservedAfterValidity { warnEndedLate(status) }
            if !quiet { Terminal.note("released \"\(name)\" (the command exited with status \(status))") }
            return status
        case .success(.spawnFailed(let error)):
            Terminal.error(error.message)
            return error.exitStatus
        case .failure(let error as LockheedError) where error.code == .lost:
            if let status = record.statusUnlessStopped {
                // It ended on its own before the loss was noticed: not stopped, so its status stands.
                if record.endObservedAfterValidity {
                    warnEndedLate(status)
                } else if !quiet {
                    Terminal.note("the lease on \"\(name)\" was lost after the command exited with status \(status)")
                }
                return status
            }
            Terminal.error("the lease on \"\(name)\" was lost while the command ran; it was stopped")
            return ExitStatus.lost
        case .failure(let error as LockheedError) where error.code == .held:
            let waited = wait.map { " after waiting \($0)" } ?? ""
            Terminal.error(
                "\"\(name)\" is busy\(waited): held by \(LockReport.holders(error.holders, now: Date()))")
            return ExitStatus.busy
        case .failure(let error as LockheedError):
            return failure(error).rawValue
        case .failure(let error):
            Terminal.error("\(error)")
            return ExitStatus.backendFailure
        }
    }

    /// Warns that the command's end was observed only after the lease's certain validity, so
    /// it may have run unprotected for a while (lockheed was frozen or starved meanwhile).
    private func warnEndedLate(_ status: Int32) {
        Terminal.note(
            "warning: the command exited with status \(status), but lockheed observed its end only after "
                + "the lease on \"\(name)\" may have expired; it was not stopped, so its status stands")
    }

    /// What one run of the command needs.
    private struct CommandRun: Sendable {
        let command: [String]
        let held: HeldLock
        let grace: Duration
        let quiet: Bool
        let record: CommandRecord

        /// The variables added to the command's environment.
        var environment: [String: String] {
            [
                "LOCKHEED_FENCING_TOKEN": String(held.fencingToken), "LOCKHEED_LOCK": held.name.rawValue,
                "LOCKHEED_HOLDER": held.holder,
            ]
        }
    }

    /// Spawns the command in its own group, forwards signals to the group, and waits for it.
    /// On cancellation (the lease was lost) the group gets SIGTERM, then SIGKILL after the
    /// grace or when the lease's certain validity ends, whichever comes first, unless the
    /// command had already exited. What the command leaves running in its group is stopped
    /// before this returns (and the lock is released).
    private static func runCommand(_ run: CommandRun, lock: Lock, forwarder: SignalForwarder) async -> Outcome {
        // The kill grace is capped by the lease's certain validity, which the lock stops
        // reporting once lost: keep the last value seen (renewals move it forward).
        let events = lock.events()
        run.record.valid(until: lock.validUntil)
        let tracking = Task {
            for await event in events {
                if case .renewed = event { run.record.valid(until: lock.validUntil) }
            }
        }
        defer { tracking.cancel() }
        let group: CommandProcessGroup
        do {
            group = try CommandProcessGroup.spawn(
                run.command, environment: run.environment, foreground: CommandProcessGroup.shouldTakeTerminal)
        } catch { return .spawnFailed(error) }
        forwarder.attach(group)
        defer { forwarder.detach() }
        let status = await withTaskCancellationHandler {
            await group.exitStatus()
        } onCancel: {
            if group.hasExited { return }  // it ended on its own: its status stands
            var deadline = ContinuousClock.now + run.grace
            if let validUntil = run.record.validUntil { deadline = max(.now, min(deadline, validUntil)) }
            run.record.stopping(killAt: deadline)
            group.signal(SIGTERM)
            group.signal(SIGCONT)
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                group.signal(SIGKILL)
            }
        }
        run.record.valid(until: lock.validUntil)  // the latest, unless the lease is gone
        run.record.exited(status)
        group.takeTerminalBack()
        let left = await group.stopRemainingMembers(until: run.record.killDeadline ?? .now + run.grace)
        group.reap()
        if left > 0 && !run.quiet {
            Terminal.note("stopped \(left) process\(left == 1 ? "" : "es") the command left running in its group")
        }
        return .exited(status)
    }
}
