import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Mounts for fault tests: a read-only view of a directory and a small tmpfs. They need
/// CAP_SYS_ADMIN (root in CI); tests that use them are skipped, visibly, where mounting is refused.
enum TestMounts {
    private static let bind: UInt = 4096  // MS_BIND
    private static let readOnly: UInt = 1  // MS_RDONLY
    private static let remount: UInt = 32  // MS_REMOUNT

    /// Whether this process may mount (tried once on a scratch directory).
    static let available: Bool = {
        guard let directory = try? makeTemporaryDirectory() else { return false }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard (try? mountTmpfs(at: directory, bytes: 64 * 1024)) != nil else { return false }
        unmount(directory)
        return true
    }()

    /// Mounts a tmpfs of `bytes` at `directory`.
    static func mountTmpfs(at directory: String, bytes: Int) throws {
        guard mount("tmpfs", directory, "tmpfs", 0, "size=\(bytes),mode=0755") == 0 else {
            throw RawDatabase.Failure(description: "mount tmpfs on \(directory): \(String(cString: strerror(errno)))")
        }
    }

    /// Makes `target` a read-only view of `source`.
    static func bindReadOnly(_ source: String, at target: String) throws {
        guard mount(source, target, nil, bind, nil) == 0 else {
            throw RawDatabase.Failure(description: "bind \(source) on \(target): \(String(cString: strerror(errno)))")
        }
        guard mount(nil, target, nil, bind | remount | readOnly, nil) == 0 else {
            let reason = String(cString: strerror(errno))
            unmount(target)
            throw RawDatabase.Failure(description: "remount \(target) read-only: \(reason)")
        }
    }

    /// Detaches the mount at `directory`.
    static func unmount(_ directory: String) {
        _ = umount2(directory, Int32(MNT_DETACH))
    }
}
