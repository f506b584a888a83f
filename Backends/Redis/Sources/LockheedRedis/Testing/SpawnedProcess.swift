import Glibc
import LockheedCore
import Synchronization

/// A child process started with `posix_spawn` and an empty signal mask, so `SIGTERM` reaches it
/// (Foundation's `Process` on Linux passes a mask that blocks it).
struct SpawnedProcess: Sendable {
    /// The child's process id.
    let pid: pid_t

    /// Starts `executable` with `arguments`, sending its output to `outputPath`.
    static func spawn(executable: String, arguments: [String], outputPath: String) throws(LockheedError)
        -> SpawnedProcess
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw .backend("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return SpawnedProcess(pid: pid)
    }

    /// Sends `signal` to the child.
    func signal(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    /// Waits for the child to exit without blocking a thread, and returns its raw status.
    func waitForExit() async -> Int32 {
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || result < 0 { return status }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// Ports already handed out by ``freeLoopbackTCPPort()`` in this process.
private let handedOut = Mutex<Set<Int>>([])

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed), never the
/// same twice in one process.
func freeLoopbackTCPPort() -> Int {
    for _ in 0..<20 {
        let port = kernelPickedPort()
        if port != 0, handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    return kernelPickedPort()
}

private func kernelPickedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { return 0 }
    return Int(UInt16(bigEndian: address.sin_port))
}
