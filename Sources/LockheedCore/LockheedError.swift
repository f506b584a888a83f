/// Every error a Lockheed API throws.
///
/// Backends map their own failures onto these errors, so callers react the same way whichever
/// backend is configured. React to ``code`` (and the one retry rule, ``isTransient``); the
/// properties carry the details of the errors that have them. A struct rather than an enum, so
/// new codes can be added without breaking code that inspects errors.
///
/// ```swift
/// do { try await lock.acquire() } catch let error where error.code == .held {
///     print("busy until", error.holders.map(\.expiresAt))
/// }
/// ```
public struct LockheedError: Error, Sendable, Hashable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let kind: String
        private init(_ kind: String) { self.kind = kind }

        /// A lock name was rejected before any backend call (``input``, ``message``).
        public static let invalidName = Code("invalidName")
        /// A tag was rejected before any backend call (``input``, ``message``).
        public static let invalidTag = Code("invalidTag")
        /// A holder identifier was rejected before any backend call (``input``, ``message``).
        public static let invalidHolder = Code("invalidHolder")
        /// Options or a configuration that cannot work, such as a renew interval not shorter
        /// than the duration (``message``).
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// A condition that cannot be evaluated, such as `contains` on `acquired` (``message``).
        public static let invalidCondition = Code("invalidCondition")
        /// The lock is held by other leases the request may not displace (``lock``, ``holders``).
        public static let held = Code("held")
        /// A shared request named a different holder limit than the lock has, or a shared and a
        /// mutex request met (``lock``, ``existingType``, ``requestedType``).
        public static let typeMismatch = Code("typeMismatch")
        /// The caller's lease is gone: released, expired, or taken over (``lock``, ``holder``).
        public static let lost = Code("lost")
        /// An operation that needs a held lease was called on a handle that holds none (``lock``).
        public static let notHeld = Code("notHeld")
        /// The stored state of one lock could not be read; other locks are unaffected
        /// (``lock``, ``message``).
        public static let malformedState = Code("malformedState")
        /// The backend cannot be reached now; the operation may succeed later (``message``).
        public static let unavailable = Code("unavailable")
        /// The backend rejected the credentials (``message``).
        public static let unauthorized = Code("unauthorized")
        /// The credentials are valid but lack a permission; ``message`` names it.
        public static let forbidden = Code("forbidden")
        /// The backend's storage has a newer or unknown format this version will not alter.
        public static let incompatibleStorage = Code("incompatibleStorage")
        /// The operation did not finish within its deadline (``message``).
        public static let timedOut = Code("timedOut")
        /// The calling task was cancelled.
        public static let cancelled = Code("cancelled")
        /// Any other backend failure, with the backend's own words in ``message``.
        public static let backend = Code("backend")

        /// The code's name, e.g. `held`.
        public var description: String { kind }
    }

    /// What kind of failure this is.
    public let code: Code
    /// The lock concerned, for the codes that concern one lock.
    public let lock: LockName?
    /// The leases that hold the lock, for ``Code/held``.
    public let holders: [Lease]
    /// The holder whose lease was lost, for ``Code/lost``.
    public let holder: String?
    /// The lock's current type, for ``Code/typeMismatch``.
    public let existingType: LockType?
    /// The type the request asked for, for ``Code/typeMismatch``.
    public let requestedType: LockType?
    /// The rejected name, tag or holder id, for the `invalid…` input codes.
    public let input: String?
    /// The explanation: the reason an input was rejected, what is malformed, or the backend's words.
    public let message: String

    private init(
        _ code: Code, lock: LockName? = nil, holders: [Lease] = [], holder: String? = nil,
        existingType: LockType? = nil, requestedType: LockType? = nil, input: String? = nil, message: String = ""
    ) {
        self.code = code
        self.lock = lock
        self.holders = holders
        self.holder = holder
        self.existingType = existingType
        self.requestedType = requestedType
        self.input = input
        self.message = message
    }

    /// A lock name rejected before any backend call.
    public static func invalidName(_ name: String, reason: String) -> Self {
        Self(.invalidName, input: name, message: reason)
    }
    /// A tag rejected before any backend call.
    public static func invalidTag(_ tag: String, reason: String) -> Self {
        Self(.invalidTag, input: tag, message: reason)
    }
    /// A holder identifier rejected before any backend call.
    public static func invalidHolder(_ holder: String, reason: String) -> Self {
        Self(.invalidHolder, input: holder, message: reason)
    }
    /// Options or a configuration that cannot work.
    public static func invalidConfiguration(_ message: String) -> Self { Self(.invalidConfiguration, message: message) }
    /// A condition that cannot be evaluated.
    public static func invalidCondition(_ message: String) -> Self { Self(.invalidCondition, message: message) }
    /// `name` is held by `holders`.
    public static func held(_ name: LockName, holders: [Lease]) -> Self { Self(.held, lock: name, holders: holders) }
    /// `name` is `existing`; the request asked for `requested`.
    public static func typeMismatch(_ name: LockName, existing: LockType, requested: LockType) -> Self {
        Self(.typeMismatch, lock: name, existingType: existing, requestedType: requested)
    }
    /// `holder`'s lease on `name` was lost.
    public static func lost(_ name: LockName, holder: String) -> Self { Self(.lost, lock: name, holder: holder) }
    /// The handle holds no lease on `name`.
    public static func notHeld(_ name: LockName) -> Self { Self(.notHeld, lock: name) }
    /// `name`'s stored state cannot be read.
    public static func malformedState(_ name: LockName, detail: String) -> Self {
        Self(.malformedState, lock: name, message: detail)
    }
    /// The backend cannot be reached now.
    public static func unavailable(_ message: String) -> Self { Self(.unavailable, message: message) }
    /// The backend rejected the credentials.
    public static func unauthorized(_ message: String) -> Self { Self(.unauthorized, message: message) }
    /// The credentials lack a permission.
    public static func forbidden(_ message: String) -> Self { Self(.forbidden, message: message) }
    /// The backend's storage has a format this version will not alter.
    public static func incompatibleStorage(_ message: String) -> Self {
        Self(.incompatibleStorage, message: message)
    }
    /// The operation did not finish within its deadline.
    public static func timedOut(_ message: String) -> Self { Self(.timedOut, message: message) }
    /// The calling task was cancelled.
    public static let cancelled = Self(.cancelled)
    /// Any other backend failure.
    public static func backend(_ message: String) -> Self { Self(.backend, message: message) }
}

extension LockheedError: CustomStringConvertible {
    /// A one-line explanation for people.
    public var description: String {
        let name = lock.map { "\"\($0)\"" } ?? "?"
        let input = "\"\(self.input ?? "")\""
        return switch code {
        case .invalidName: "invalid lock name \(input): \(message)"
        case .invalidTag: "invalid tag \(input): \(message)"
        case .invalidHolder: "invalid holder id \(input): \(message)"
        case .invalidConfiguration: "invalid configuration: \(message)"
        case .invalidCondition: "invalid condition: \(message)"
        case .held: "lock \(name) is held by " + holders.map(\.summary).joined(separator: ", ")
        case .typeMismatch:
            "lock \(name) is \(existingType.map { "\($0)" } ?? "?"), the request asked for "
                + (requestedType.map { "\($0)" } ?? "?")
        case .lost: "lease of \"\(holder ?? "")\" on lock \(name) was lost"
        case .notHeld: "lock \(name) is not held by this handle"
        case .malformedState: "stored state of lock \(name) is malformed: \(message)"
        case .unavailable: "backend unavailable: \(message)"
        case .unauthorized: "unauthorized: \(message)"
        case .forbidden: "forbidden: \(message)"
        case .incompatibleStorage: "incompatible storage: \(message)"
        case .timedOut: "timed out: \(message)"
        case .cancelled: "cancelled"
        default: "backend error: \(message)"
        }
    }

    /// Whether retrying the same call later may succeed: a busy lock (held, or of another type
    /// or holder limit until its holders leave) or a backend unreachable or too slow now. The
    /// one retry rule: ``Lock`` retries exactly these.
    public var isTransient: Bool {
        [.held, .typeMismatch, .unavailable, .timedOut].contains(code)
    }

    /// A failure of the backend rather than a refusal: unreachable, failing, or too slow.
    /// ``Lock`` retries these for ``LockOptions/backendTimeout``.
    public var isBackendFailure: Bool { code == .unavailable || code == .timedOut }
}
