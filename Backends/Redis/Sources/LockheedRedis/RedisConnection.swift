import CHiredis
import Glibc
import LockheedCore

/// One hiredis connection. It is not `Sendable`: the subscriber's connection lives on the
/// subscriber thread; a pooled connection is reached only through its ``PooledConnection``'s
/// mutex. Connecting blocks and so never runs on Swift's cooperative pool; once switched to
/// non-blocking mode (``connectIfNeeded(nonBlocking:)``), ``write(_:)`` and ``pollReply()`` never
/// wait.
final class RedisConnection {
    private let configuration: RedisConfiguration
    private(set) var context: UnsafeMutablePointer<redisContext>?

    init(configuration: RedisConfiguration) {
        self.configuration = configuration
    }

    deinit { close() }

    /// Whether a usable socket is open.
    var isConnected: Bool { context != nil }

    /// The socket's file descriptor, or -1.
    var fileDescriptor: Int32 { context?.pointee.fd ?? -1 }

    /// Frees the context and closes the socket.
    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Opens the socket when closed, authenticates and selects the database (blocking), then
    /// switches the socket to non-blocking mode when asked.
    func connectIfNeeded(nonBlocking: Bool = false) throws(LockheedError) {
        if context != nil { return }
        let host = configuration.host
        // Our own socket, created close-on-exec: a child spawned by another thread at any moment,
        // even during the connect, never inherits this (soon authenticated) connection.
        let descriptor = try RedisSocket.connect(
            host: host, port: configuration.port, timeout: configuration.connectTimeout)
        guard let ctx = redisConnectFd(descriptor) else {
            Glibc.close(descriptor)
            throw .unavailable("cannot allocate a redis context")
        }
        if ctx.pointee.err != 0 {
            let message = Self.errorString(ctx)
            redisFree(ctx)
            throw .unavailable("cannot connect to redis at \(host):\(configuration.port): \(message)")
        }
        redisSetTimeout(ctx, timeval(configuration.commandTimeout))
        context = ctx
        do throws(LockheedError) {
            if let password = configuration.password {
                var auth = ["AUTH"]
                if let username = configuration.username { auth.append(username) }
                auth.append(password)
                try expectOK(try send(auth), what: "AUTH")
            }
            if configuration.database != 0 {
                try expectOK(try send(["SELECT", String(configuration.database)]), what: "SELECT")
            }
        } catch {
            close()
            throw error
        }
        if nonBlocking {
            let flags = fcntl(ctx.pointee.fd, F_GETFL)
            guard flags >= 0, fcntl(ctx.pointee.fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
                close()
                throw .unavailable("cannot make the redis socket non-blocking (errno \(errno))")
            }
            ctx.pointee.flags &= ~Int32(REDIS_BLOCK)
        }
    }

    // MARK: Non-blocking use (pooled connections)

    /// Queues an encoded command (see ``RedisCommand``) and writes as much as the socket takes
    /// now. Returns `true` when all of it was written.
    func write(_ command: [UInt8]) throws(LockheedError) -> Bool {
        try append(command)
        return try flush()
    }

    /// Queues an encoded command in hiredis's output buffer.
    private func append(_ command: [UInt8]) throws(LockheedError) {
        guard let ctx = context else { throw .unavailable("not connected to redis") }
        let appended = command.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(ctx, $0.baseAddress, $0.count) }
        }
        guard appended == REDIS_OK else { throw failure(ctx) }
    }

    /// Writes what is still queued; `true` when nothing is left.
    func flush() throws(LockheedError) -> Bool {
        guard let ctx = context else { throw .unavailable("not connected to redis") }
        var done: Int32 = 0
        guard redisBufferWrite(ctx, &done) == REDIS_OK else { throw failure(ctx) }
        return done != 0
    }

    /// Returns the next reply if it is complete, reading what the socket has without waiting;
    /// `nil` when more bytes are needed. A closed or broken socket throws `.unavailable`.
    func pollReply() throws(LockheedError) -> RedisValue? {
        if let reply = try bufferedReply() { return reply }
        try readSocket()
        return try bufferedReply()
    }

    private func failure(_ ctx: UnsafeMutablePointer<redisContext>) -> LockheedError {
        let message = Self.errorString(ctx)
        close()
        return .unavailable("redis connection failed: \(message)")
    }

    private func expectOK(_ reply: RedisValue, what: String) throws(LockheedError) {
        if case .error(let message) = reply { throw Self.mapError(message) }
    }

    /// Sends one command and waits for its reply, reconnecting first when needed. A server
    /// error reply is returned as ``RedisValue/error(_:)``; I/O failures close the connection
    /// and throw `.unavailable` or `.timedOut`.
    func command(_ arguments: [String]) throws(LockheedError) -> RedisValue {
        try connectIfNeeded()
        return try send(arguments)
    }

    private func send(_ arguments: [String]) throws(LockheedError) -> RedisValue {
        try append(RedisCommand.encode(arguments))
        guard let ctx = context else { throw .unavailable("not connected to redis") }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(ctx, &raw) == REDIS_OK, let raw else {
            let savedErrno = errno
            let message = Self.errorString(ctx)
            let code = ctx.pointee.err
            close()
            if code == REDIS_ERR_IO
                && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK || message.contains("temporarily unavailable"))
            {
                throw .timedOut(
                    "redis command \(arguments.first ?? "") took longer than \(configuration.commandTimeout)")
            }
            throw .unavailable("redis connection failed: \(message)")
        }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(raw) }
        return RedisValue(UnsafePointer(reply))
    }

    /// Reads one already-buffered reply, or `nil` when none is complete yet (subscriber use).
    func bufferedReply() throws(LockheedError) -> RedisValue? {
        guard let ctx = context else { throw .unavailable("not connected to redis") }
        var raw: UnsafeMutableRawPointer?
        if redisGetReplyFromReader(ctx, &raw) != REDIS_OK {
            let message = Self.errorString(ctx)
            close()
            throw .unavailable("redis connection failed: \(message)")
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return RedisValue(UnsafePointer(raw.assumingMemoryBound(to: redisReply.self)))
    }

    /// Reads what the socket has into hiredis's buffer (subscriber use, after `poll`).
    func readSocket() throws(LockheedError) {
        guard let ctx = context else { throw .unavailable("not connected to redis") }
        if redisBufferRead(ctx) != REDIS_OK {
            let message = Self.errorString(ctx)
            close()
            throw .unavailable("redis connection failed: \(message)")
        }
    }

    // MARK: Helpers

    private static func errorString(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { bytes in
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
    }

    /// Maps a server error reply to the matching ``LockheedError``.
    static func mapError(_ message: String) -> LockheedError {
        if message.hasPrefix("WRONGPASS") || message.hasPrefix("NOAUTH") || message.contains("invalid password")
            || message.contains("invalid username-password") || message.contains("unauthenticated")
        {
            return .unauthorized("redis: \(message)")
        }
        if message.hasPrefix("NOPERM") { return .forbidden("redis: \(message)") }
        if message.hasPrefix("LOADING") || message.hasPrefix("BUSY") || message.hasPrefix("MASTERDOWN")
            || message.hasPrefix("TRYAGAIN")
        {
            return .unavailable("redis: \(message)")
        }
        return .backend("redis: \(message)")
    }
}

/// A C `timeval` for a duration.
func timeval(_ duration: Duration) -> Glibc.timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
