import Lockheed

/// The command line of `LeaderElectedJob`.
struct JobArguments: Sendable {
    var backend = ""
    var lock = ""
    var identity = ""
    var period: Duration = .seconds(1)
    var history = ""
    var options = LeaderElectionOptionsText()

    /// Lease options as given on the command line.
    struct LeaderElectionOptionsText: Sendable {
        var duration: Duration = .seconds(15)
        var renewInterval: Duration?
        var retryDelay: Duration?
    }

    static let usage = """
        usage: LeaderElectedJob --backend URL --lock NAME --identity ID --period DURATION --history FILE
                                [--duration DURATION] [--renew DURATION] [--retry DURATION]
        Runs a periodic job only while this process leads the election for NAME, appending
        token<TAB>start_ms<TAB>end_ms<TAB>identity to FILE for each period (CLOCK_MONOTONIC ms).
        SIGTERM or SIGINT: stop leading, release the lock at once, exit.
        """

    /// Parses `arguments` (without the program name); throws `invalidConfiguration` with the problem.
    static func parse(_ arguments: [String]) throws(LockheedError) -> JobArguments {
        var result = JobArguments()
        var index = 0
        func value(_ flag: String) throws(LockheedError) -> String {
            index += 1
            guard index < arguments.count else { throw .invalidConfiguration("\(flag) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--backend": result.backend = try value(flag)
            case "--lock": result.lock = try value(flag)
            case "--identity": result.identity = try value(flag)
            case "--period": result.period = try DurationSyntax.parse(try value(flag))
            case "--history": result.history = try value(flag)
            case "--duration": result.options.duration = try DurationSyntax.parse(try value(flag))
            case "--renew": result.options.renewInterval = try DurationSyntax.parse(try value(flag))
            case "--retry": result.options.retryDelay = try DurationSyntax.parse(try value(flag))
            default: throw .invalidConfiguration("unknown argument \(flag)")
            }
            index += 1
        }
        for (flag, text) in [
            ("--backend", result.backend), ("--lock", result.lock), ("--identity", result.identity),
            ("--history", result.history),
        ] where text.isEmpty {
            throw .invalidConfiguration("\(flag) is required")
        }
        guard result.period > .zero else { throw .invalidConfiguration("--period must be positive") }
        return result
    }
}
