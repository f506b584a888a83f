import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedisTesting
import Testing

@testable import LockheedRedis

extension RedisDedicatedServerTests {
    @Suite("The Redis password is never shown")
    struct RedisSecretTests {
        @Test("description, debugDescription, reflection and dump print *** for the password")
        func configurationText() {
            let secret = "pw-\(UInt64.random(in: 0...UInt64.max))"
            let configuration = RedisConfiguration(
                host: "db.example", username: "locks", password: secret, keyPrefix: "app")
            var dumped = ""
            dump(configuration, to: &dumped)
            let texts = [
                String(describing: configuration), String(reflecting: configuration), "\(configuration)", dumped,
                String(describing: [configuration]), String(describing: Optional(configuration)),
            ]
            for text in texts {
                #expect(!text.contains(secret), "the password leaked in \(text)")
                #expect(text.contains("***"), "the password's presence is shown as *** in \(text)")
                #expect(text.contains("db.example") && text.contains("locks") && text.contains("app"))
            }
            let none = RedisConfiguration(keyPrefix: "app")
            #expect(!String(describing: none).contains("***"), "no password, no ***")
        }

        @Test("errors and log lines of a password-protected server never contain the password")
        func errorsAndLogs() async throws {
            let secret = "right-\(UInt64.random(in: 0...UInt64.max))"
            let wrongSecret = "wrong-\(UInt64.random(in: 0...UInt64.max))"
            let server = try await RedisTestServer.start(extraArguments: ["--requirepass", secret])
            var dumpedServer = ""
            dump(server, to: &dumpedServer)
            for text in [String(describing: server), String(reflecting: server), dumpedServer] {
                #expect(!text.contains(secret) && text.contains("***"), "the test server printed its password: \(text)")
            }
            let log = CapturedLog()
            var configuration = server.configuration(keyPrefix: uniquePrefix())
            configuration.password = wrongSecret
            let wrong = try RedisLocker(configuration: configuration, logger: log.logger())
            let name = try LockName("secret")
            let request = try AcquireRequest(name: name, holder: "a", duration: .seconds(5))
            var texts: [String] = []
            for error in [
                try await lockheedError { try await wrong.acquire(request) },
                try await lockheedError { try await wrong.state(of: name) },
            ] {
                texts += [String(describing: error), String(reflecting: error), error.localizedDescription]
            }
            // The subscriber's failing connection falls back to the timeout; it may only log.
            try await wrong.waitForChange(of: name, timeout: .milliseconds(300))
            configuration.password = secret
            configuration.username = "nobody"
            let unknownUser = try RedisLocker(configuration: configuration, logger: log.logger())
            let userError = try await lockheedError { try await unknownUser.acquire(request) }
            guard userError.code == .unauthorized else {
                Issue.record("an unknown user must be .unauthorized, got \(userError)")
                return
            }
            texts.append(String(reflecting: userError))
            configuration.username = nil
            let right = try RedisLocker(configuration: configuration, logger: log.logger())
            _ = try await right.acquire(request)
            _ = await right.storageWarnings()
            await server.stop()
            let downError = try await lockheedError { try await right.renew(name, holder: "a", duration: .seconds(5)) }
            texts.append(String(reflecting: downError))
            texts += log.entries.map(\.text)
            texts += [String(reflecting: wrong), String(describing: right), String(reflecting: right.configuration)]
            for text in texts {
                #expect(!text.contains(secret) && !text.contains(wrongSecret), "a password leaked: \(text)")
            }
            for locker in [wrong, unknownUser, right] { await locker.shutdown() }
        }
    }
}
