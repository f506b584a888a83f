import ArgumentParser
import Lockheed

/// The `lockheed` command.
@main
struct LockheedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lockheed",
        abstract: "Distributed locks from the shell: flock(1) across processes, machines and clusters.",
        discussion: """
            The backend is --backend URL, else $LOCKHEED_BACKEND, else the
            `backend = URL` line of a config file (--config FILE or
            $LOCKHEED_CONFIG), else sqlite: (the file
            $XDG_STATE_HOME/lockheed/locks.db or ~/.local/state/lockheed/locks.db).

            BACKEND URLS
              sqlite:
              sqlite:///ABSOLUTE/PATH?busy_timeout=5s&synchronous=full
                (a relative path is refused: it would name another file in each directory)
              redis://[USER:PASSWORD@]HOST[:PORT][/DB]?prefix=P&timeout=2s
                (also connect_timeout=, pool=, reply_spin=; the password may hold any
                character, or come from $LOCKHEED_REDIS_PASSWORD; passwords are never printed)
              postgres://USER[:PASSWORD]@HOST[:PORT]/DB?schema=S&sslmode=disable|require
                (the password may come from $LOCKHEED_POSTGRES_PASSWORD or $PGPASSWORD)
              kubernetes:                  (in-cluster service account)
              kubernetes://NAMESPACE?kubeconfig=PATH&context=NAME&prefix=P
              memory:                      (this process only)

            EXAMPLES
              lockheed exec demo -- sh -c 'echo holding; sleep 1'
              lockheed exec --no-wait deploy -- make deploy
              lockheed list --where 'acquired and tags contains nightly'
              lockheed list --format json
              lockheed break deploy --if 'holder contains "ci-"' --yes

            \(ExitStatus.helpText)
            """,
        subcommands: [Exec.self, List.self, Show.self, Release.self, Break.self])

    /// Entry point: runs the guard of `exec` when started as one (see ``ExecGuard``), else lets
    /// `--wait` go without a value and runs the parsed command.
    static func main() async {
        if CommandLine.arguments.dropFirst().first == ExecGuard.argument { ExecGuard.run(CommandLine.arguments) }
        await Self.main(ArgumentRewriting.optionalWaitValue(Array(CommandLine.arguments.dropFirst())))
    }
}

/// Rewrites arguments before parsing.
enum ArgumentRewriting {
    /// `--wait` followed by something that is not a duration (or by nothing) becomes
    /// `--wait=forever`, so `--wait [DURATION]` works; arguments after `--` are left alone.
    static func optionalWaitValue(_ arguments: [String]) -> [String] {
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            if argument == "--wait" {
                let next = index + 1 < arguments.count ? arguments[index + 1] : nil
                // Anything written as a duration is its value, even out of range, so that
                // `--wait 99999999999s` reports the range rather than taking it for the name.
                if let next, next != "--", DurationSyntax.hasDurationForm(next) || next == "forever" {
                    result += [argument, next]
                    index += 2
                    continue
                }
                result.append("--wait=forever")
            } else {
                result.append(argument)
            }
            index += 1
        }
        return result
    }
}
