#if canImport(Glibc)
    import Glibc
#endif

/// The `posix_spawn` settings `lockheed exec` uses for the guard and for the command.
enum PosixSpawn {
    /// Sets an empty signal mask and default dispositions for every catchable signal (a
    /// disposition set to "ignore" would otherwise survive `exec`), plus `extraFlags`.
    static func resetSignals(_ attributes: inout posix_spawnattr_t, extraFlags: Int32 = 0) {
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal: Int32 in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | extraFlags))
    }

    /// Adds glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+): every descriptor from
    /// `lowest` up is closed in the new process. Swift's Glibc module does not export this GNU
    /// extension, so it is looked up at run time; `false` when this glibc lacks it.
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return false }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        return withUnsafeMutablePointer(to: &actions) { closeFrom($0, lowest) } == 0
    }

    /// Calls `body` with `strings` as a NULL-terminated array of C strings.
    static func withCStrings<Result>(
        _ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> Result
    ) -> Result {
        let pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }

    /// Shell-style exit status from a `waitpid` status word: the exit code, or 128+N for signal N.
    static func shellStatus(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}
