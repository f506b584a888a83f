import Foundation
import LockheedCore
import Synchronization

/// The bearer token for each request: a fixed one, or a file read again whenever it changes (the
/// kubelet rotates projected service account tokens by swapping a symlink).
final class TokenSource: Sendable {
    private struct FileVersion: Equatable {
        var inode: UInt64
        var size: Int64
        var seconds: Int
        var nanoseconds: Int
    }

    private enum Kind {
        case fixed(String)
        case file(String)
    }

    private let kind: Kind
    private let cached = Mutex<(version: FileVersion?, token: String?)>((nil, nil))

    /// `nil` when `authentication` sends no token.
    init?(_ authentication: KubernetesConfiguration.Authentication) {
        switch authentication {
        case .none: return nil
        case .bearerToken(let token): kind = .fixed(token)
        case .bearerTokenFile(let path): kind = .file(path)
        }
    }

    /// The current token; a token file is read again when its inode, size or mtime changed.
    func token() throws(LockheedError) -> String {
        switch kind {
        case .fixed(let token): return token
        case .file(let path):
            let version = Self.version(of: path)
            if let token = cached.withLock({ $0.version == version && version != nil ? $0.token : nil }) {
                return token
            }
            guard let data = FileManager.default.contents(atPath: path),
                let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !text.isEmpty
            else {
                throw .unauthorized("cannot read the bearer token file \(path)")
            }
            cached.withLock { $0 = (version, text) }
            return text
        }
    }

    /// Forgets the cached token so the next request reads the file again (after a 401).
    func invalidate() {
        cached.withLock { $0 = (nil, nil) }
    }

    /// Whether the token comes from a file, which may have rotated.
    var isFile: Bool {
        if case .file = kind { return true }
        return false
    }

    private static func version(of path: String) -> FileVersion? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return FileVersion(
            inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: Int(info.st_mtim.tv_sec),
            nanoseconds: Int(info.st_mtim.tv_nsec))
    }
}
