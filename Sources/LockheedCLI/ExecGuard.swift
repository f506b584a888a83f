import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The guard: a small process `lockheed exec` starts (its own executable, run with the hidden
/// first argument ``argument``) as the leader of a new process group, which starts the command
/// in that group, waits for it, and exits with its status.
///
/// Why a guard that stays, rather than `PR_SET_PDEATHSIG` set before `exec`ing the command:
/// the parent-death signal reaches only the direct child (a grandchild such as the `sleep` of
/// `sh -c 'sleep 1; …'` would outlive lockheed), and it fires when the parent *thread* that
/// spawned exits, which for lockheed is a thread of Swift's pool, not the process. The guard
/// instead reads a pipe whose only writer is lockheed: end of file there means the lockheed
/// process is gone (however it died, SIGKILL included, and even before the guard started
/// reading), and the guard then kills its whole group, itself included. It needs no watchdog
/// process and no subreaper, and it keeps the command's status to pass on.
enum ExecGuard {
    /// The hidden first argument that runs the guard: `lockheed __exec-guard tty|- -- COMMAND…`.
    static let argument = "__exec-guard"
    /// The descriptor on which the guard reads the pipe from lockheed.
    static let lifeline: Int32 = 3

    /// Signals the guard ignores: lockheed sends SIGTERM, SIGINT… to the whole group, and the
    /// guard must outlive the command to pass its status on. SIGTSTP stops it with the command
    /// (lockheed notices and hands the terminal back); SIGKILL ends it.
    private static let ignored: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU, SIGXCPU, SIGXFSZ,
        SIGVTALRM, SIGPROF,
    ]

    /// Runs the guard for `arguments` (the whole command line) and exits with the command's status.
    static func run(_ arguments: [String]) -> Never {
        // Started by hand it would kill a group that is not its own: refuse unless it leads a
        // group of its own and holds the pipe, as `lockheed exec` starts it.
        var lifelineStatus = stat()
        guard arguments.count >= 5, arguments[3] == "--", getpgrp() == getpid(),
            fstat(lifeline, &lifelineStatus) == 0, lifelineStatus.st_mode & S_IFMT == S_IFIFO
        else {
            Terminal.error("\(argument) is internal to lockheed exec")
            exit(ExitStatus.usage)
        }
        for signal in ignored { _ = Glibc.signal(signal, SIG_IGN) }
        if arguments[2] == "tty" { _ = tcsetpgrp(STDIN_FILENO, getpgrp()) }  // SIGTTOU is ignored
        _ = fcntl(lifeline, F_SETFD, FD_CLOEXEC)
        Thread.detachNewThread { killGroupWhenLockheedIsGone() }
        let command = Array(arguments[4...])
        var child: pid_t = 0
        let result = spawn(command, pid: &child)
        guard result == 0 else {
            let error = SpawnError(command: command[0], code: result)
            Terminal.error(error.message)
            exit(error.exitStatus)
        }
        var raw: Int32 = 0
        while waitpid(child, &raw, 0) < 0 {
            if errno != EINTR { exit(ExitStatus.backendFailure) }
        }
        exit(PosixSpawn.shellStatus(raw))
    }

    /// Starts `command` in the guard's group with default signal handling and only
    /// descriptors 0-2.
    private static func spawn(_ command: [String], pid: inout pid_t) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if !PosixSpawn.addCloseFrom(&actions, 3) { markCloseOnExec(from: 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        PosixSpawn.resetSignals(&attributes)
        return PosixSpawn.withCStrings(command) { argv in
            posix_spawnp(&pid, command[0], &actions, &attributes, argv, environ)
        }
    }

    /// Blocks until lockheed's end of the pipe closes, then kills the whole group.
    private static func killGroupWhenLockheedIsGone() {
        var byte: UInt8 = 0
        while read(lifeline, &byte, 1) < 0 && errno == EINTR {}
        kill(0, SIGKILL)
    }

    /// Without `posix_spawn_file_actions_addclosefrom_np`: marks every open descriptor from
    /// `lowest` up close-on-exec.
    private static func markCloseOnExec(from lowest: Int32) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for name in names {
            if let fd = Int32(name), fd >= lowest { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
    }
}

/// Why a command could not be started.
struct SpawnError: Error {
    /// The command that failed.
    let command: String
    /// The `errno` of `posix_spawnp`.
    let code: Int32

    /// 127 when not found, 126 otherwise, as shells do.
    var exitStatus: Int32 { code == ENOENT || code == ENOTDIR ? ExitStatus.notFound : ExitStatus.cannotExecute }

    /// What to print.
    var message: String {
        let reason = code == ENOENT ? "command not found" : String(cString: strerror(code))
        return "cannot run \(command): \(reason)"
    }
}
