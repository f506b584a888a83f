extension LockName {
    /// The longest name ``stored(_:)`` accepts: a Kubernetes object name's limit (the Go
    /// original stores a lock as ConfigMap `lockheed-<name>`, so its names stay below it).
    public static let maximumStoredLength = 253

    /// Validates a name that some other client may already have stored: the characters and
    /// ends of ``init(_:)``, but up to ``maximumStoredLength`` characters (the Go original takes
    /// any name its ConfigMap can have).
    ///
    /// For reading and administering such locks (`show`, `break`, `list`). Acquires keep the
    /// 63-character rule of ``init(_:)``, which every backend and a Kubernetes label value hold.
    /// (A static function, not an initializer, so that `LockName.init` stays unambiguous.)
    public static func stored(_ rawValue: String) throws(LockheedError) -> LockName {
        let bytes = Array(rawValue.utf8)
        if bytes.count <= Self.maximumLength {
            if let reason = Self.problem(with: rawValue) { throw .invalidName(rawValue, reason: reason) }
        } else {
            guard bytes.count <= Self.maximumStoredLength else {
                throw .invalidName(rawValue, reason: "must be at most \(Self.maximumStoredLength) characters")
            }
            func isAlnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
            guard bytes.allSatisfy({ isAlnum($0) || $0 == 0x2D || $0 == 0x2E }) else {
                throw .invalidName(rawValue, reason: "may contain only lowercase letters, digits, '-' and '.'")
            }
            guard isAlnum(bytes[0]), isAlnum(bytes[bytes.count - 1]) else {
                throw .invalidName(rawValue, reason: "must start and end with a lowercase letter or digit")
            }
        }
        return LockName(checked: rawValue)
    }

    /// A name already validated by ``stored(_:)``.
    private init(checked rawValue: String) { self.rawValue = rawValue }
}
