import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Ports already handed out by ``freeLoopbackPort()`` in this process.
private let handedOut = Mutex<Set<Int>>([])

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it: bound to port 0,
/// then closed), never the same twice in one process.
public func freeLoopbackPort() -> Int {
    for _ in 0..<20 {
        let port = kernelPickedPort()
        if port != 0, handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
    return kernelPickedPort()
}

private func kernelPickedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else { return 0 }
    return Int(UInt16(bigEndian: address.sin_port))
}
