import Glibc
import LockheedCore

/// Opening the TCP socket a hiredis context then takes over (`redisConnectFd`).
///
/// hiredis 0.14 creates its sockets without `SOCK_CLOEXEC`, so a process spawned by another
/// thread while hiredis connects would inherit the socket, and with it the session `AUTH` later
/// authenticates. This socket is created close-on-exec, so no child ever inherits it.
enum RedisSocket {
    /// A connected, blocking TCP socket with `FD_CLOEXEC` and `TCP_NODELAY`, to the first of
    /// `host`'s addresses that accepts within `timeout`. Throws `.unavailable` with the reason.
    static func connect(host: String, port: Int, timeout: Duration) throws(LockheedError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw .unavailable("cannot resolve redis host \(host): \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(first) }
        let deadline = ContinuousClock.now + timeout
        var reason = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let descriptor = socket(
                address.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue),
                address.pointee.ai_protocol)
            guard descriptor >= 0 else {
                reason = String(cString: strerror(errno))
                continue
            }
            if let failure = finishConnect(descriptor, address.pointee, deadline: deadline) {
                close(descriptor)
                reason = failure
                continue
            }
            return descriptor
        }
        throw .unavailable("cannot connect to redis at \(host):\(port): \(reason)")
    }

    /// Connects `descriptor` to `address` before `deadline`, then makes it blocking with
    /// `TCP_NODELAY`. Returns the failure's text, or `nil` on success.
    private static func finishConnect(_ descriptor: Int32, _ address: addrinfo, deadline: ContinuousClock.Instant)
        -> String?
    {
        if Glibc.connect(descriptor, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { return String(cString: strerror(errno)) }
            while true {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { return "connection timed out" }
                var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let milliseconds = Int32(clamping: max(1, left.wholeMilliseconds))
                let ready = poll(&entry, 1, milliseconds)
                if ready < 0 && errno == EINTR { continue }
                if ready < 0 { return String(cString: strerror(errno)) }
                if ready > 0 { break }
            }
            var pending: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &pending, &length) == 0 else {
                return String(cString: strerror(errno))
            }
            if pending != 0 { return String(cString: strerror(pending)) }
        }
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            return String(cString: strerror(errno))
        }
        var on: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        return nil
    }
}
