/// The configuration as text: every field, the password only as `***`.
///
/// `description`, `debugDescription`, reflection (`dump`, `String(reflecting:)`) and string
/// interpolation all go through these, so the password never reaches a log line or an error
/// message that prints a configuration. A new field must be added to both.
extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `RedisConfiguration(host: "…", port: …, password: ***, …)`.
    public var description: String {
        let user = username.map { "\"\($0)\"" } ?? "nil"
        return "RedisConfiguration(host: \"\(host)\", port: \(port), database: \(database), username: \(user), "
            + "password: \(password == nil ? "nil" : "***"), keyPrefix: \"\(keyPrefix)\", "
            + "connectTimeout: \(connectTimeout), commandTimeout: \(commandTimeout), poolSize: \(poolSize), "
            + "replySpin: \(replySpin), idleRetention: \(idleRetention))"
    }

    /// The same as ``description``.
    public var debugDescription: String { description }

    /// The fields, with `password` shown as `***` when one is set.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "host": host, "port": port, "database": database, "username": username as Any,
                "password": password.map { _ in "***" } as Any, "keyPrefix": keyPrefix,
                "connectTimeout": connectTimeout, "commandTimeout": commandTimeout, "poolSize": poolSize,
                "replySpin": replySpin, "idleRetention": idleRetention,
            ], displayStyle: .struct)
    }
}
