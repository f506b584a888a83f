import LockheedCore

extension RedisLocker {
    /// Sends one raw command on a pool connection (tests and fault hooks).
    func rawCommand(_ arguments: [String]) async throws(LockheedError) -> RedisValue {
        try await pool.command(arguments)
    }

    /// Makes every lease of `name` expire now by the server's clock (a test hook).
    func expireLeasesNow(of name: LockName) async throws(LockheedError) {
        _ = try await evaluate(.expireLeases, name: name, keys: [lockKey(name)], arguments: [retentionMilliseconds])
    }
}

extension RedisLocker {
    /// The server's `INFO server` section (for test servers telling their own process apart).
    @_spi(Testing)
    public func serverInfo() async throws(LockheedError) -> String {
        try await pool.command(["INFO", "server"]).text ?? ""
    }
}
