#if canImport(Glibc)
    import Glibc

    /// Adds glibc's `posix_spawn_file_actions_addclosefrom_np(actions, lowest)` (glibc 2.34+):
    /// the spawned process starts with every descriptor from `lowest` up closed. Swift's Glibc
    /// module does not export it (it is a GNU extension), so it is looked up at run time.
    /// Returns `false` when this glibc lacks it.
    @discardableResult
    public func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
        else { return false }
        let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
        return withUnsafeMutablePointer(to: &actions) { closeFrom($0, lowest) } == 0
    }
#endif
