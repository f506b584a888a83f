import ArgumentParser
import Foundation
import Lockheed

/// Output formats of `list` and `show`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}

/// `lockheed list`: every lock, with holders, expiries, tags and fencing tokens.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List locks with their holders, expiries, tags and fencing tokens.",
        discussion: """
            EXAMPLES
              lockheed list
              lockheed list --where 'acquired and tags contains nightly'
              lockheed list --where 'not acquired or holder == "build-7"' --format json

            CONDITIONS
              FIELD == VALUE, FIELD != VALUE, FIELD contains VALUE, or a bare
              'acquired', combined with and, or, not and parentheses.
              Fields: acquired (true/false), tags, name, holder,
              type (mutex/shared), leaseCount. Values are words or
              "quoted \\"strings\\""; tags == [a, b] compares the whole set.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("where"), help: ArgumentHelp("Only locks matching CONDITION.", valueName: "condition"))
    var condition: String?

    @Option(help: "table for people, json for scripts.")
    var format: OutputFormat = .table

    func run() async throws {
        let filter = try condition.map { try parseCondition($0, option: "--where") }
        let states = try await withLocker(global) { locker, _ in try await locker.list(matching: filter) }
        let now = Date()
        switch format {
        case .json:
            Terminal.output(
                LockReport.json(states.sorted { $0.name < $1.name }.map { LockReport.LockJSON($0, now: now) }))
        case .table:
            if states.isEmpty {
                Terminal.note(filter == nil ? "no locks" : "no locks match")
            } else {
                Terminal.output(LockReport.table(states, now: now))
            }
        }
    }
}

/// `lockheed show NAME`.
struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one lock's state (exit 1 if it was never stored).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The lock's name.")
    var name: String

    @Option(help: "table for people, json for scripts.")
    var format: OutputFormat = .table

    func run() async throws {
        let (state, warnings) = try await withLocker(global) { locker, _ in
            let state = try await locker.state(of: try LockName.stored(name))
            return (state, await (locker as? any LockerDiagnostics)?.storageWarnings() ?? [])
        }
        for warning in warnings { Terminal.note("warning: \(warning)") }
        guard let state else {
            Terminal.note("no lock named \"\(name)\"")
            throw ExitCode(ExitStatus.nothingDone)
        }
        switch format {
        case .json: Terminal.output(LockReport.json(LockReport.LockJSON(state, now: Date())))
        case .table: Terminal.output(LockReport.detail(state, now: Date()))
        }
    }
}

/// `lockheed release NAME --holder ID`.
struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Release one holder's lease (exit 1 if that holder held none).",
        discussion: """
            Removes only the lease of --holder, as that holder's own release
            would. To remove every lease whoever holds it, use 'lockheed break'.

            EXAMPLE
              lockheed release nightly-report --holder build-host-4242-1a2b3c
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The lock's name.")
    var name: String

    @Option(help: ArgumentHelp("The holder whose lease to release (see 'lockheed list').", valueName: "id"))
    var holder: String

    func run() async throws {
        let released = try await withLocker(global) { locker, _ in
            try await locker.release(try LockName.stored(name), holder: holder)
        }
        if released {
            Terminal.note("released \"\(name)\" held by \(holder)")
        } else {
            Terminal.note("\(holder) holds no lease on \"\(name)\"")
            throw ExitCode(ExitStatus.nothingDone)
        }
    }
}

/// `lockheed break NAME [--if CONDITION] [--yes]`.
struct Break: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forcefully remove every lease of a lock (asks first on a terminal).",
        discussion: """
            The holders are not told: a 'lockheed exec' holding the lock
            notices at its next renewal, stops its command and exits 76. The
            fencing counter is kept, so the next holder's token is higher.
            Exit 1 when nothing was removed (no active lease, condition did
            not match, or the confirmation was declined).

            EXAMPLES
              lockheed break deploy
              lockheed break nightly-report --if 'tags contains nightly' --yes
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The lock's name.")
    var name: String

    @Option(
        name: .customLong("if"), help: ArgumentHelp("Only when the lock matches CONDITION.", valueName: "condition"))
    var condition: String?

    @Flag(name: [.short, .long], help: "Do not ask for confirmation.")
    var yes = false

    func run() async throws {
        let filter = try condition.map { try parseCondition($0, option: "--if") }
        let removed: [Lease]? = try await withLocker(global) { locker, _ in
            let lockName = try LockName.stored(name)
            if !yes && Terminal.stdinIsTerminal {
                guard let state = try await locker.state(of: lockName), state.isAcquired(at: Date()) else {
                    return []
                }
                let leases = state.activeLeases(at: Date())
                Terminal.write(
                    "\"\(name)\" is held by \(LockReport.holders(leases, now: Date())).\n"
                        + "Break \(leases.count == 1 ? "this lease" : "these \(leases.count) leases")? [y/N] ")
                let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
                guard answer == "y" || answer == "yes" else { return nil }
            }
            return try await locker.breakLock(lockName, if: filter)
        }
        guard let removed else {
            Terminal.note("not broken")
            throw ExitCode(ExitStatus.nothingDone)
        }
        if removed.isEmpty {
            Terminal.note(
                filter == nil
                    ? "\"\(name)\" has no active lease" : "\"\(name)\" does not match the condition; nothing broken")
            throw ExitCode(ExitStatus.nothingDone)
        }
        Terminal.note(
            "broke \(removed.count) lease(s) of \"\(name)\": \(removed.map(\.holder).joined(separator: ", "))")
    }
}
