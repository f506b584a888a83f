import Foundation
import Lockheed

#if canImport(Glibc)
    import Glibc
#endif

/// The shared history file: one line per period, appended with `O_APPEND` in one `write`, so
/// lines of different processes never interleave.
struct JobHistory: Sendable {
    let path: String

    /// Milliseconds of `CLOCK_MONOTONIC`: one clock for every process on the host, which never
    /// steps (the wall clock can, under NTP), so periods of different processes compare.
    static func nowMilliseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
    }

    /// Appends `token<TAB>start<TAB>end<TAB>identity`.
    func append(token: UInt64, start: Int64, end: Int64, identity: String) throws(LockheedError) {
        let line = Array("\(token)\t\(start)\t\(end)\t\(identity)\n".utf8)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .unavailable("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw .unavailable("cannot append to \(path)") }
    }
}
