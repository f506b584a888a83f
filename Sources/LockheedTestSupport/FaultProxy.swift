import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy on a free loopback port that forwards to a real server and can misbehave on
/// command, as networks do: freeze every connection (bytes stop flowing both ways, nothing is
/// closed), delay each chunk, or cut every connection with a FIN or a reset.
///
/// ```swift
/// let proxy = try FaultProxy(forwardingTo: server.port)
/// let locker = try RedisLocker(configuration: .init(host: "127.0.0.1", port: proxy.port))
/// proxy.freeze()           // the backend's next call hangs
/// proxy.resume()
/// proxy.stop()
/// ```
public final class FaultProxy: Sendable {
    /// What the proxy does with the bytes it reads.
    public enum Mode: Sendable, Equatable {
        /// Forward at once.
        case pass
        /// Hold every byte (read nothing, write nothing) until the mode changes.
        case freeze
        /// Forward each chunk after this delay.
        case delay(Duration)
    }

    /// The loopback port clients connect to.
    public let port: Int
    /// The loopback port connections are forwarded to.
    public let targetPort: Int

    private struct State {
        var mode: Mode = .pass
        var connections: [ObjectIdentifier: Connection] = [:]
        var accepted = 0
        var stopped = false
    }

    private let state = Mutex(State())
    private let listener: Int32

    /// Starts listening on a free loopback port, forwarding to `targetPort` on 127.0.0.1.
    public init(forwardingTo targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw FaultProxyError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw FaultProxyError("bind/listen: \(String(cString: strerror(errno)))")
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// The mode in force.
    public var mode: Mode { state.withLock { $0.mode } }
    /// How many connections were accepted so far.
    public var acceptedConnections: Int { state.withLock { $0.accepted } }

    /// Sets what happens to bytes from now on (connections accepted later included).
    public func set(_ mode: Mode) { state.withLock { $0.mode = mode } }
    /// Stops all traffic without closing anything: a frozen network path.
    public func freeze() { set(.freeze) }
    /// Forwards again, at once.
    public func resume() { set(.pass) }

    /// Closes every open connection: with a reset (RST) when `reset`, else with a FIN.
    public func cutConnections(reset: Bool = false) {
        let connections = state.withLock { state in
            defer { state.connections.removeAll() }
            return Array(state.connections.values)
        }
        for connection in connections { connection.close(reset: reset) }
    }

    /// Stops accepting and closes every connection.
    public func stop() {
        let first = state.withLock { state in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        cutConnections()
    }

    deinit { stop() }

    private func acceptLoop() {
        while !state.withLock({ $0.stopped }) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard server >= 0, connected else {
                close(client)
                if server >= 0 { close(server) }
                continue
            }
            let connection = Connection(client: client, server: server)
            state.withLock { state in
                state.accepted += 1
                state.connections[ObjectIdentifier(connection)] = connection
            }
            Thread { [self] in pump(connection, from: client, to: server) }.start()
            Thread { [self] in pump(connection, from: server, to: client) }.start()
        }
    }

    /// Copies bytes one way, as the mode says, until either side closes.
    private func pump(_ connection: Connection, from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        defer {
            connection.close(reset: false)
            _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection)) }
        }
        while true {
            guard !connection.isClosed else { return }
            if case .freeze = mode {
                usleep(5_000)
                continue
            }
            var poller = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 20)
            if ready == 0 || (ready < 0 && errno == EINTR) { continue }
            if ready < 0 { return }
            if case .freeze = mode { continue }
            let count = read(source, &buffer, buffer.count)
            if count <= 0 { return }
            if case .delay(let delay) = mode { Thread.sleep(forTimeInterval: Self.seconds(delay)) }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + written, count - written) }
                if result <= 0 { return }
                written += result
            }
        }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        let (seconds, attoseconds) = duration.components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// One proxied connection: its two sockets are closed once, after which neither pump uses them.
private final class Connection: Sendable {
    let client: Int32
    let server: Int32
    private let closed = Mutex(false)

    init(client: Int32, server: Int32) {
        self.client = client
        self.server = server
    }

    var isClosed: Bool { closed.withLock { $0 } }

    func close(reset: Bool) {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        for fd in [client, server] {
            if reset {
                var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            } else {
                shutdown(fd, Int32(SHUT_RDWR))
            }
        }
        // The pumps poll with a short timeout and check `isClosed` first, so a descriptor
        // number is reused only after both have stopped touching it.
        Thread.sleep(forTimeInterval: 0.05)
        Glibc.close(client)
        Glibc.close(server)
    }
}

/// A proxy that could not start.
public struct FaultProxyError: Error, CustomStringConvertible {
    /// What failed.
    public let description: String
    init(_ description: String) { self.description = description }
}
