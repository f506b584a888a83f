/// How many leases a lock admits at once.
public enum LockType: Sendable, Hashable, CustomStringConvertible {
    /// One holder at a time.
    case mutex
    /// Up to `maxHolders` holders at a time (a counting semaphore).
    case shared(maxHolders: Int)

    /// The number of leases the lock admits.
    public var capacity: Int {
        switch self {
        case .mutex: 1
        case .shared(let maxHolders): maxHolders
        }
    }

    /// `"mutex"` or `"shared"`, as conditions and storage name the kind.
    public var kind: String {
        switch self {
        case .mutex: "mutex"
        case .shared: "shared"
        }
    }

    /// `mutex` or `shared(N)`.
    public var description: String {
        switch self {
        case .mutex: "mutex"
        case .shared(let maxHolders): "shared(\(maxHolders))"
        }
    }

    /// The most holders a shared lock may admit: every backend stores the limit exactly, and a
    /// state with that many leases stays small enough to read and write in one operation.
    public static let maximumHolders = 10_000

    /// Throws ``LockheedError/invalidConfiguration(_:)`` for a shared lock with fewer than one
    /// holder or more than ``maximumHolders``.
    public func validate() throws(LockheedError) {
        guard case .shared(let maxHolders) = self else { return }
        if maxHolders < 1 {
            throw .invalidConfiguration("a shared lock needs maxHolders of at least 1, got \(maxHolders)")
        }
        if maxHolders > Self.maximumHolders {
            throw .invalidConfiguration(
                "a shared lock admits at most \(Self.maximumHolders) holders, got \(maxHolders)")
        }
    }
}

extension LockType: Codable {
    private enum CodingKeys: String, CodingKey { case kind, maxHolders }

    /// Decodes `{"kind":"mutex"}` or `{"kind":"shared","maxHolders":N}`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .kind) {
        case "mutex": self = .mutex
        case "shared": self = .shared(maxHolders: try container.decode(Int.self, forKey: .maxHolders))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .kind, in: container, debugDescription: "unknown lock type \"\(other)\"")
        }
    }

    /// Encodes the kind, and the holder limit of a shared lock.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        if case .shared(let maxHolders) = self { try container.encode(maxHolders, forKey: .maxHolders) }
    }
}
