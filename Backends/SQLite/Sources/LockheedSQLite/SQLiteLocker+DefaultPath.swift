import Foundation
import LockheedCore

extension StateStoreLocker where Store == SQLiteLockStore {
    /// `$XDG_STATE_HOME/lockheed/locks.db`, else `~/.local/state/lockheed/locks.db`. Opening a
    /// locker on this path creates its directory (mode 0700) if needed.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        // The XDG spec says to ignore a relative XDG_STATE_HOME.
        if let state = environment["XDG_STATE_HOME"], state.hasPrefix("/") {
            return state + "/lockheed/locks.db"
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.local/state/lockheed/locks.db"
    }

    static func createDirectory(of path: String) throws(LockheedError) {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .forbidden("cannot create the directory \(directory.path) for \(path): \(error.localizedDescription)")
        }
    }
}
