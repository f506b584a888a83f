import LockheedCore
import Synchronization

/// One ``ChangeNotifier`` per database file in this process, so a release through one
/// ``SQLiteLocker`` wakes waiters of every other locker on the same file.
enum SQLiteNotifiers {
    private static let notifiers = Mutex<[String: ChangeNotifier]>([:])

    /// The notifier of the file at `path` (already resolved to a canonical path).
    static func notifier(for path: String) -> ChangeNotifier {
        notifiers.withLock { notifiers in
            if let existing = notifiers[path] { return existing }
            let notifier = ChangeNotifier()
            notifiers[path] = notifier
            return notifier
        }
    }
}
