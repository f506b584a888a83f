import Foundation

/// The identity of this host's wall clock.
public enum HostClock {
    /// The Linux boot id (`/proc/sys/kernel/random/boot_id`), the same for every process and
    /// container on one kernel and so for every writer sharing this wall clock; a random id per
    /// process where it cannot be read.
    public static let identity: String = {
        if let data = FileManager.default.contents(atPath: "/proc/sys/kernel/random/boot_id"),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            !text.isEmpty
        {
            return text
        }
        return UUID().uuidString.lowercased()
    }()
}
