import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A command started with `posix_spawnp`, with the signal mask emptied and signal dispositions
/// reset to their defaults (Foundation's `Process` on Linux passes a mask that blocks SIGTERM).
///
/// A dedicated thread waits for the exit with `waitid(WNOWAIT)` first and reaps only after
/// marking the child as exited under the same lock ``signal(_:)`` takes, so a signal is never
/// sent to a recycled process id.
final class SpawnedChild: Sendable {
    /// Why a command could not be started.
    struct SpawnError: Error {
        /// The command that failed.
        let command: String
        /// The `errno` of `posix_spawnp`.
        let code: Int32

        /// 127 when not found, 126 otherwise, as shells do.
        var exitStatus: Int32 { code == ENOENT || code == ENOTDIR ? ExitStatus.notFound : ExitStatus.cannotExecute }

        var message: String {
            let reason = code == ENOENT ? "command not found" : String(cString: strerror(code))
            return "cannot run \(command): \(reason)"
        }
    }

    /// The child's process id.
    let pid: pid_t
    private let reaped: ReapedFlag
    private let status: Task<Int32, Never>

    private init(pid: pid_t) {
        let reaped = ReapedFlag()
        self.pid = pid
        self.reaped = reaped
        status = Task.detached {
            await withCheckedContinuation { continuation in
                Thread.detachNewThread { continuation.resume(returning: Self.waitForExit(pid, reaped: reaped)) }
            }
        }
    }

    /// Starts `arguments[0]` (looked up in `PATH`) with `arguments`, inheriting the environment
    /// and the standard file descriptors.
    static func spawn(_ arguments: [String]) throws(SpawnError) -> SpawnedChild {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal: Int32 in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], nil, &attributes, argv, environ)
        guard result == 0 else { throw SpawnError(command: arguments[0], code: result) }

        return SpawnedChild(pid: pid)
    }

    /// Blocks until `pid` exits, marks it reaped, reaps it, and returns its status the way
    /// shells report it.
    private static func waitForExit(_ pid: pid_t, reaped: ReapedFlag) -> Int32 {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        reaped.value.withLock { $0 = true }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            if errno != EINTR { return ExitStatus.backendFailure }
        }
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// The exit status once the child has exited: its code, or 128+N if signal N killed it.
    func exitStatus() async -> Int32 { await status.value }

    /// Sends `signal` unless the child has already been reaped.
    func signal(_ signal: Int32) {
        reaped.value.withLock { reaped in
            if !reaped { _ = kill(pid, signal) }
        }
    }
}

/// Whether the child has exited and is about to be reaped; guards every `kill`.
private final class ReapedFlag: Sendable {
    let value = Mutex(false)
}
