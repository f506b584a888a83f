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

extension RedisLocker {
    /// The commands of one uncontended acquire and release of `request`, exactly as this locker
    /// sends them, and the commands loading their scripts: for a benchmark floor that sends
    /// the same scripts from a bare client, which tells the client's cost from the server's.
    @_spi(Testing)
    public func uncontendedCycleCommands(_ request: AcquireRequest) -> (
        load: [[String]], acquire: [String], release: [String]
    ) {
        let name = request.name
        let acquire = ["EVALSHA", RedisScript.acquire.sha1, "2", lockKey(name), fenceKey(name)]
        let release = ["EVALSHA", RedisScript.release.sha1, "1", lockKey(name)]
        return (
            [["SCRIPT", "LOAD", RedisScript.acquire.source], ["SCRIPT", "LOAD", RedisScript.release.source]],
            acquire + acquireArguments(request, expectedVersion: -1),
            release + releaseArguments(name, holder: request.holder)
        )
    }
}
