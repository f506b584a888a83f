/// A ``Locker`` that can report settings of its store that weaken the guarantees it gives
/// (`lockheed show` prints them).
///
/// A backend adopts it when its store can be configured in a way the backend cannot prevent but
/// can detect, e.g. a Redis server whose eviction policy may delete the fencing counter.
public protocol LockerDiagnostics: Sendable {
    /// One sentence per setting that weakens a guarantee, saying what can break and what to
    /// change; empty when none applies or when the store cannot be asked. Never throws: a failed
    /// check is not a finding.
    func storageWarnings() async -> [String]
}
