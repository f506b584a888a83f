import Foundation
import Glibc
import LockheedCore
import LockheedRedisTesting
import LockheedTestSupport
import Testing

@testable import LockheedRedis

extension RedisDedicatedServerTests {
    @Suite("Redis sockets are not inherited by child processes")
    struct RedisDescriptorTests {
        @Test("every socket to the server has FD_CLOEXEC, and a spawned child holds none of them")
        func closeOnExec() async throws {
            let server = try await RedisTestServer.start(extraArguments: ["--requirepass", "descriptor-secret"])
            var configuration = server.configuration(keyPrefix: uniquePrefix())
            configuration.password = "descriptor-secret"
            let locker = try RedisLocker(configuration: configuration)
            let name = try LockName("inherited")
            _ = try await locker.acquire(try AcquireRequest(name: name, holder: "a", duration: .seconds(30)))
            // A refused acquire and a wait start the subscriber's connection too.
            _ = try? await locker.acquire(try AcquireRequest(name: name, holder: "b", duration: .seconds(30)))
            try await locker.waitForChange(of: name, timeout: .milliseconds(300))
            let deadline = ContinuousClock.now + .seconds(10)
            while !locker.subscriber.isConnected && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(locker.subscriber.isConnected)

            let sockets = socketsConnected(toPort: server.port)
            #expect(sockets.count >= 2, "the pool's and the subscriber's connections, found \(sockets)")
            for socket in sockets {
                #expect(
                    fcntl(socket.descriptor, F_GETFD) & FD_CLOEXEC != 0,
                    "descriptor \(socket.descriptor) lacks FD_CLOEXEC")
            }

            let listing = NSTemporaryDirectory() + "lockheed-fds-\(UInt32.random(in: 0...UInt32.max))"
            defer { try? FileManager.default.removeItem(atPath: listing) }
            let child = try ChildProcess.spawn(
                executable: "/bin/sh", arguments: ["-c", "for f in /proc/$$/fd/*; do readlink \"$f\"; done"],
                outputPath: listing)
            #expect(await child.waitForExit() == 0)
            let inherited = try String(contentsOfFile: listing, encoding: .utf8)
            for socket in sockets {
                #expect(!inherited.contains(socket.link), "the child inherited \(socket.link)")
            }
            await locker.shutdown()
            await server.stop()
        }
    }
}

/// This process's TCP sockets whose peer is `127.0.0.1:port`: descriptor and `/proc` link text.
func socketsConnected(toPort port: Int) -> [(descriptor: Int32, link: String)] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    var found: [(descriptor: Int32, link: String)] = []
    for entry in entries {
        guard let descriptor = Int32(entry),
            let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)"),
            link.hasPrefix("socket:")
        else { continue }
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard named == 0, address.sin_family == sa_family_t(AF_INET), Int(UInt16(bigEndian: address.sin_port)) == port
        else { continue }
        found.append((descriptor, link))
    }
    return found
}
