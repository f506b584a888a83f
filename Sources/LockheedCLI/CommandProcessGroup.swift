import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The command of `lockheed exec` in a process group of its own, led by the ``ExecGuard``.
///
/// Signals go to the whole group (`kill(-pgid, …)`), so a grandchild such as the `sleep` in
/// `sh -c 'sleep 60; …'` gets them too. A dedicated thread waits for the guard's exit with
/// `waitid(WNOWAIT)` and leaves it a zombie until ``reap()``: until then its process id, which
/// is the group's id, cannot be reused, so a signal never reaches a stranger's group.
final class CommandProcessGroup: Sendable {
    /// The guard's process id, which is also the group's id.
    let pid: pid_t
    /// Whether the group's terminal was handed to the command.
    let foreground: Bool
    private let reaped = Mutex(false)
    private let status: Task<Int32, Never>
    /// lockheed's end of the pipe the guard watches; closed only when lockheed exits.
    private let lifeline: Int32

    private init(pid: pid_t, foreground: Bool, lifeline: Int32) {
        self.pid = pid
        self.foreground = foreground
        self.lifeline = lifeline
        status = Task.detached {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread {
                    continuation.resume(returning: Self.waitForExit(pid, jobControl: foreground))
                }
            }
        }
    }

    /// Starts `command` (looked up in `PATH`) under a new guard, with `environment` added to
    /// lockheed's, descriptors 0-2 only, and default signal handling. `foreground` makes the
    /// group the terminal's foreground group, so the terminal's signals (Ctrl-C) reach the
    /// command and not lockheed.
    static func spawn(
        _ command: [String], environment: [String: String], foreground: Bool
    ) throws(SpawnError) -> CommandProcessGroup {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SpawnError(command: command[0], code: errno) }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var readEnd = ends[0]
        if readEnd <= ExecGuard.lifeline {  // keep it clear of the slots the spawn rewrites
            readEnd = fcntl(ends[0], F_DUPFD_CLOEXEC, 10)
            close(ends[0])
        }
        defer { close(readEnd) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, readEnd, ExecGuard.lifeline)
        _ = PosixSpawn.addCloseFrom(&actions, ExecGuard.lifeline + 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        PosixSpawn.resetSignals(&attributes, extraFlags: Int32(POSIX_SPAWN_SETPGROUP))

        if foreground { _ = Glibc.signal(SIGTTOU, SIG_IGN) }  // to take the terminal back from the background
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let arguments = ["lockheed", ExecGuard.argument, foreground ? "tty" : "-", "--"] + command
        var pid: pid_t = 0
        let result = PosixSpawn.withCStrings(arguments) { argv in
            PosixSpawn.withCStrings(merged.map { "\($0.key)=\($0.value)" }) { envp in
                posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, envp)
            }
        }
        guard result == 0 else {
            close(ends[1])
            throw SpawnError(command: "lockheed's own executable (/proc/self/exe)", code: result)
        }
        return CommandProcessGroup(pid: pid, foreground: foreground, lifeline: ends[1])
    }

    /// Whether lockheed should hand the terminal to the command: stdin is a terminal and
    /// lockheed's group is its foreground group.
    static var shouldTakeTerminal: Bool {
        isatty(STDIN_FILENO) == 1 && tcgetpgrp(STDIN_FILENO) == getpgrp()
    }

    /// The command's status once the guard has exited (not yet reaped): its code, or 128+N
    /// if signal N ended it.
    func exitStatus() async -> Int32 { await status.value }

    /// Whether the guard has exited (it is a zombie waiting for ``reap()``).
    var hasExited: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0
            && info._sifields._sigchld.si_pid == pid
    }

    /// Sends `signal` to every process of the group unless the guard has been reaped.
    func signal(_ signal: Int32) {
        reaped.withLock { reaped in
            if !reaped { _ = kill(-pid, signal) }
        }
    }

    /// The processes of the group other than its (exited) guard, living or stopped.
    var remainingMembers: [pid_t] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap { name -> pid_t? in
            guard let member = pid_t(name), member != pid,
                let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", pid_t(fields[2]) == pid else { return nil }
            return member
        }
    }

    /// Stops what the command left running in its group: SIGTERM, then SIGKILL at `deadline`.
    /// Returns how many processes were left.
    func stopRemainingMembers(until deadline: ContinuousClock.Instant) async -> Int {
        let left = remainingMembers.count
        guard left > 0 else { return 0 }
        signal(SIGTERM)
        signal(SIGCONT)
        while ContinuousClock.now < deadline, !remainingMembers.isEmpty {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !remainingMembers.isEmpty {
            signal(SIGKILL)
            let killed = ContinuousClock.now + .seconds(2)
            while ContinuousClock.now < killed, !remainingMembers.isEmpty {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        return left
    }

    /// Makes lockheed's group the terminal's foreground group again, if it was handed to the
    /// command.
    func takeTerminalBack() {
        if foreground { _ = tcsetpgrp(STDIN_FILENO, getpgrp()) }
    }

    /// Reaps the exited guard; the group is no longer signalled after this.
    func reap() {
        reaped.withLock { reaped in
            guard !reaped else { return }
            reaped = true
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        }
    }

    /// Blocks until the guard exits and returns its status, leaving it unreaped. With
    /// `jobControl`, a stop of the group (Ctrl-Z on the terminal) stops lockheed too, with
    /// the terminal handed back to lockheed's group; when continued, lockheed gives the
    /// terminal to the command again and continues it.
    private static func waitForExit(_ pid: pid_t, jobControl: Bool) -> Int32 {
        while true {
            var info = siginfo_t()
            let flags = WEXITED | WNOWAIT | (jobControl ? WSTOPPED : 0)
            if waitid(P_PID, id_t(pid), &info, flags) < 0 {
                if errno == EINTR { continue }
                return ExitStatus.backendFailure
            }
            let code = info.si_code
            let value = info._sifields._sigchld.si_status
            switch code {
            case Int32(CLD_EXITED): return value
            case Int32(CLD_KILLED), Int32(CLD_DUMPED): return 128 + value
            case Int32(CLD_STOPPED):
                var consumed = siginfo_t()
                _ = waitid(P_PID, id_t(pid), &consumed, WSTOPPED | WNOHANG)
                _ = tcsetpgrp(STDIN_FILENO, getpgrp())
                // Thread-directed and unblocked here (threads started from the pool block every
                // signal), SIGTSTP stops the whole process before `raise` returns; it returns
                // when lockheed is continued (`fg`), or at once in an orphaned process group.
                var stop = sigset_t()
                sigemptyset(&stop)
                sigaddset(&stop, SIGTSTP)
                pthread_sigmask(SIG_UNBLOCK, &stop, nil)
                _ = raise(SIGTSTP)
                _ = tcsetpgrp(STDIN_FILENO, pid)
                _ = kill(-pid, SIGCONT)
            default: continue
            }
        }
    }
}
