/// Every error a Lockheed API throws.
///
/// Backends map their own failures onto these cases, so callers can react the same way
/// whichever backend is configured.
public enum LockheedError: Error, Sendable, Hashable {
    /// A lock name was rejected before any backend call.
    case invalidName(String, reason: String)
    /// A tag was rejected before any backend call.
    case invalidTag(String, reason: String)
    /// A holder identifier was rejected before any backend call.
    case invalidHolder(String, reason: String)
    /// Options that cannot work together, such as a renew interval not shorter than the duration.
    case invalidConfiguration(String)
    /// A condition that cannot be evaluated, such as `contains` on the `acquired` field.
    case invalidCondition(String)
    /// The lock is held by other leases that the request may not displace.
    case held(LockName, holders: [Lease])
    /// A shared request named a different holder limit than the lock currently has, or a
    /// shared and a mutex request met.
    case typeMismatch(LockName, existing: LockType, requested: LockType)
    /// The caller's lease is gone or expired: it was released, expired, or taken over.
    case lost(LockName, holder: String)
    /// An operation that needs a held lease was called on a lock that holds none.
    case notHeld(LockName)
    /// The stored state of one lock could not be read; other locks are unaffected.
    case malformedState(LockName, detail: String)
    /// The backend cannot be reached now; the operation may succeed later.
    case unavailable(String)
    /// The backend rejected the credentials.
    case unauthorized(String)
    /// The credentials are valid but lack a permission; the message names it.
    case forbidden(String)
    /// The backend's storage has a newer or unknown format that this version will not alter.
    case incompatibleStorage(String)
    /// The operation did not finish within its deadline.
    case timedOut(String)
    /// The calling task was cancelled.
    case cancelled
    /// Any other backend failure, with the backend's own words.
    case backend(String)
}

extension LockheedError: CustomStringConvertible {
    /// A one-line explanation for people.
    public var description: String {
        switch self {
        case .invalidName(let name, let reason): "invalid lock name \"\(name)\": \(reason)"
        case .invalidTag(let tag, let reason): "invalid tag \"\(tag)\": \(reason)"
        case .invalidHolder(let holder, let reason): "invalid holder id \"\(holder)\": \(reason)"
        case .invalidConfiguration(let message): "invalid configuration: \(message)"
        case .invalidCondition(let message): "invalid condition: \(message)"
        case .held(let name, let holders):
            "lock \"\(name)\" is held by " + holders.map(\.summary).joined(separator: ", ")
        case .typeMismatch(let name, let existing, let requested):
            "lock \"\(name)\" is \(existing), the request asked for \(requested)"
        case .lost(let name, let holder): "lease of \"\(holder)\" on lock \"\(name)\" was lost"
        case .notHeld(let name): "lock \"\(name)\" is not held by this handle"
        case .malformedState(let name, let detail): "stored state of lock \"\(name)\" is malformed: \(detail)"
        case .unavailable(let message): "backend unavailable: \(message)"
        case .unauthorized(let message): "unauthorized: \(message)"
        case .forbidden(let message): "forbidden: \(message)"
        case .incompatibleStorage(let message): "incompatible storage: \(message)"
        case .timedOut(let message): "timed out: \(message)"
        case .cancelled: "cancelled"
        case .backend(let message): "backend error: \(message)"
        }
    }

    /// Whether retrying the same call later may succeed: a busy lock (held, or of another type
    /// or holder limit until its holders leave) or a backend unreachable or too slow now. The
    /// one retry rule: ``Lock`` retries exactly these.
    public var isTransient: Bool {
        switch self {
        case .held, .typeMismatch, .unavailable, .timedOut: true
        default: false
        }
    }

    /// A failure of the backend rather than a refusal: unreachable, failing, or too slow.
    /// ``Lock`` retries these for ``LockOptions/backendTimeout``.
    public var isBackendFailure: Bool {
        switch self {
        case .unavailable, .timedOut: true
        default: false
        }
    }
}
