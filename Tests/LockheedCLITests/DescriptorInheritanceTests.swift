import Foundation
import KubernetesAPIDouble
import Lockheed
import LockheedConformance
import LockheedRedis
import LockheedRedisTesting
import LockheedTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every descriptor the library opens (SQLite's files, hiredis' sockets, epoll) is close-on-exec,
/// so a program that spawns children while it holds a lock leaks none of them: an inherited
/// authenticated socket would let a child talk to the backend as the holder. SwiftNIO's sockets
/// (Kubernetes) are the known exception.
@Suite("Descriptor inheritance", .loadsMachine)
struct DescriptorInheritanceTests {
    @Test("every backend's descriptors are close-on-exec")
    func backendsOpenCloseOnExecDescriptors() async throws {
        let directory = try TemporaryDirectory()
        let redis = try await RedisTestServer.start()
        let double = try await KubernetesAPIServerDouble.start()
        double.createNamespace("fd")
        let kubeconfig = try directory.writeKubeconfig(server: double.baseURL, namespace: "fd")

        let doublePort = URLComponents(string: double.baseURL)?.port
        // Only this backend's descriptors count: other tests may open theirs meanwhile.
        let backends: [(url: String, ours: @Sendable (String) -> Bool)] = [
            ("sqlite://\(directory.path("locks.db"))", { $0.hasPrefix(directory.url.path) }),
            ("redis://127.0.0.1:\(redis.port)/0?prefix=fd", { ports(of: $0)?.remote == redis.port }),
            // The double runs in this process: its end of the connection counts too.
            (
                "kubernetes://fd?kubeconfig=\(kubeconfig)",
                { ports(of: $0).map { [$0.local, $0.remote].contains(doublePort) } ?? false }
            ),
        ]
        var lockers: [any Locker] = []
        for (url, ours) in backends {
            // A descriptor with what it names: a number closed and reused in between is new (the
            // Redis socket often took the number of a descriptor closed meanwhile).
            let before = Set(openDescriptors().map { "\($0) \(target(of: $0))" })
            let locker = try BackendConfiguration(url: url).makeLocker()
            lockers.append(locker)
            let lock = try Lock("fd-check", locker: locker).duration(.seconds(30))
            try await lock.acquire()
            try await lock.release()
            let opened = openDescriptors().filter { fd in
                !before.contains("\(fd) \(target(of: fd))") && ours(target(of: fd))
            }
            #expect(!opened.isEmpty, "\(url): no descriptor of the backend was seen")
            let leaky = opened.filter { fd in
                let flags = fcntl(fd, F_GETFD)
                return flags >= 0 && flags & FD_CLOEXEC == 0
            }
            let described = leaky.sorted().map { "\($0) → \(target(of: $0))" }
            if url.hasPrefix("kubernetes") {
                // SwiftNIO (under AsyncHTTPClient) opens sockets without SOCK_CLOEXEC and exposes
                // no descriptor to set it on. `lockheed exec` closes every descriptor but 0-2 in
                // the spawn (ExecContainmentTests); library users spawning children must close
                // them too (Foundation's Process and swift-subprocess do).
                withKnownIssue("SwiftNIO sockets are not close-on-exec", isIntermittent: true) {
                    #expect(leaky.isEmpty, "\(url): descriptors without FD_CLOEXEC: \(described)")
                }
            } else {
                #expect(leaky.isEmpty, "\(url): descriptors without FD_CLOEXEC: \(described)")
            }
        }
        for locker in lockers { await locker.shutdown() }
        await redis.stop()
        try await double.shutdown()
    }

    private func openDescriptors() -> Set<Int32> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(names.compactMap { Int32($0) })
    }

    private func target(of fd: Int32) -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")) ?? "?"
    }
}

/// The local and remote ports of the TCP socket a `/proc/self/fd` link such as `socket:[12345]` names.
private func ports(of link: String) -> (local: Int?, remote: Int?)? {
    guard link.hasPrefix("socket:["), link.hasSuffix("]") else { return nil }
    let inode = link.dropFirst("socket:[".count).dropLast()
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        // procfs files report size 0: read to the end rather than by size.
        let data = FileHandle(forReadingAtPath: table).map { $0.readDataToEndOfFile() } ?? Data()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, fields[9] == inode else { continue }
            func port(_ field: Substring) -> Int? { field.split(separator: ":").last.flatMap { Int($0, radix: 16) } }
            return (port(fields[1]), port(fields[2]))
        }
    }
    return nil
}
