import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The database file as a file: whether and why it can be written, the room left beside it, and
/// its creation. Used to open safely and to name the cause when a write is refused.
enum SQLiteFileAccess {
    /// Free space below which opening logs a warning. Beside the database SQLite keeps a `-wal`
    /// journal, which grows to about 4 MiB (1000 pages of 4 KiB) between automatic checkpoints,
    /// and a 32 KiB `-shm` index; lock rows themselves are a few hundred bytes each.
    static let recommendedFreeBytes: UInt64 = 8 << 20

    /// The directory holding `path`.
    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// Bytes available to this user on the file system of `path`'s directory.
    static func freeBytes(near path: String) -> UInt64? {
        var info = statvfs()
        guard statvfs(directory(of: path), &info) == 0 else { return nil }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }

    /// The warning to log when opening finds less than ``recommendedFreeBytes`` free, else `nil`.
    static func lowSpaceWarning(for path: String) -> String? {
        guard let free = freeBytes(near: path), free < recommendedFreeBytes else { return nil }
        return
            "only \(free) bytes free in \(directory(of: path)) for database \(path): SQLite's -wal journal grows to about 4 MiB and its -shm index takes 32 KiB; below \(recommendedFreeBytes) bytes writes may fail with \"disk full\""
    }

    /// What stops this process from writing the database at `path` (or creating it, or its
    /// `-wal` and `-shm`), or `nil` when nothing visible does.
    static func unwritableReason(of path: String) -> String? {
        let directory = directory(of: path)
        var info = statvfs()
        // ST_RDONLY is 1 on Linux.
        if statvfs(directory, &info) == 0, info.f_flag & 1 != 0 {
            return "\(directory) is on a read-only file system"
        }
        for file in [path, path + "-wal", path + "-shm"] where access(file, F_OK) == 0 {
            if let reason = denial(file, W_OK) {
                return "the file \(file) is not writable by user \(geteuid()) (\(reason))"
            }
        }
        if let reason = denial(directory, W_OK | X_OK) {
            return
                "its directory \(directory) is not writable by user \(geteuid()) (\(reason)); SQLite creates the database and its -wal and -shm files there"
        }
        return nil
    }

    /// Why `path` refuses `mode` to this process's effective user, or `nil` if it allows it.
    private static func denial(_ path: String, _ mode: Int32) -> String? {
        faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 ? nil : String(cString: strerror(errno))
    }

    /// The text of a `.unavailable` error for a write that found no room.
    static func diskFull(_ path: String, _ detail: String) -> String {
        let free = freeBytes(near: path).map { "\($0) bytes" } ?? "unknown space"
        return
            "disk full: cannot write database \(path) (\(free) free in \(directory(of: path)); SQLite needs room for its -wal journal, up to about 4 MiB, and its 32 KiB -shm index): \(detail)"
    }

    /// Creates the database file if it does not exist, first removing a `-wal`, `-shm` or
    /// `-journal` left beside it by a deleted predecessor.
    ///
    /// Such leftovers belong to the deleted file: a holder that still has it open may still map
    /// the old `-shm`, and SQLite would otherwise share that index with the new file (reads of
    /// frames that are not there: "disk I/O error"). They are removed only while the database
    /// file is absent, under an exclusive `flock` of the directory, and before the new file
    /// exists, so a `-wal` or `-shm` of a live database is never removed: every opener in this
    /// library that finds the file missing takes the same lock.
    static func createRemovingLeftovers(_ path: String) {
        guard access(path, F_OK) != 0, errno == ENOENT else { return }
        let directoryDescriptor = open(directory(of: path), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { if directoryDescriptor >= 0 { close(directoryDescriptor) } }
        // Without the lock (a directory this user cannot read, a file system without flock)
        // leftovers stay; the file is still created.
        let locked = directoryDescriptor >= 0 && flock(directoryDescriptor, LOCK_EX) == 0
        defer { if locked { flock(directoryDescriptor, LOCK_UN) } }
        guard access(path, F_OK) != 0, errno == ENOENT else { return }
        if locked {
            for suffix in ["-wal", "-shm", "-journal"] { unlink(path + suffix) }
        }
        let file = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if file >= 0 { close(file) }
    }
}
