import Foundation
import Lockheed
import Testing

/// Backend URLs with passwords holding URL delimiters, numbers out of range and relative paths.
@Suite struct BackendURLLimitTests {
    private func parse(_ text: String, _ environment: [String: String] = [:]) throws -> BackendConfiguration {
        try BackendConfiguration(url: text, environment: environment)
    }

    /// The message of the error `text` gives, or `nil` when it parses.
    private func message(_ text: String) -> String? {
        do {
            _ = try parse(text)
            return nil
        } catch let error as LockheedError {
            return error.description
        } catch {
            return "unexpected \(error)"
        }
    }

    static let delimiterPasswords = [
        "pa/ss", "pa#ss", "pa?ss", "pa@ss", "pa:ss", "pa+ss", "pa ss", "a/b#c?d@e:f+g h", "@@", "//", "::", "?#",
        // A delimiter followed by a combining mark is one Character, still a delimiter (found by
        // FuzzBackendURL).
        "pa@\u{0302}ss", "pa/\u{0301}ss:\u{0301}", "\u{0301}@",
    ]

    @Test(arguments: delimiterPasswords)
    func passwordsMayHoldAnyDelimiter(_ password: String) throws {
        let configuration = try parse("redis://app:\(password)@cache.internal:6380/2?prefix=ci&timeout=1s")
        #expect(
            configuration
                == .redis(
                    RedisURLParts(
                        host: "cache.internal", port: 6380, database: 2, username: "app", password: password,
                        keyPrefix: "ci", commandTimeout: .seconds(1))))
        #expect(configuration.description == "redis://app:***@cache.internal:6380/2?prefix=ci&timeout=1s")
        let escaped = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        #expect(
            try parse("redis://app:\(escaped)@h")
                == .redis(RedisURLParts(host: "h", username: "app", password: password)))
        #expect(try parse("redis://:\(password)@h:1") == .redis(RedisURLParts(host: "h", port: 1, password: password)))
        #expect(
            try parse("redis://:\(password)@\u{0302}h:1")
                == .redis(RedisURLParts(host: "\u{0302}h", port: 1, password: password)))
    }

    @Test(arguments: delimiterPasswords + ["pa%ss", "pa%41ss"])
    func errorsNeverShowThePassword(_ password: String) {
        let marked = "Zq7" + password + "K9w"
        let urls = [
            "redis://app:\(marked)@localhost:notaport/0", "redis://app:\(marked)@localhost/notadb",
            "redis://app:\(marked)@localhost/0?bogus=1", "redis://app:\(marked)@localhost/0#frag",
            "redis:app:\(marked)@localhost", "redis://localhost/0?password=\(marked)",
            "redis://localhost/0?timeout=1s?password=\(marked)", "rediss://app:\(marked)@localhost",
            "etcd://app:\(marked)@localhost", "app:\(marked)@localhost", "kubernetes://app:\(marked)@team-a",
            "sqlite://app:\(marked)@/tmp/x.db", "redis://app:\(marked)@localhost/0?pool=0",
            "redis://app:\(marked)@\u{0302}:notaport", "redis:app:\(marked)@\u{0302}",
        ]
        for url in urls {
            let shown = message(url) ?? (try? parse(url).description) ?? ""
            #expect(!shown.contains("Zq7") && !shown.contains("K9w"), "\(url) → \(shown)")
            #expect(!shown.isEmpty)
        }
        #expect(message("redis://localhost/0?password=\(marked)")?.contains("not in a parameter") == true)
        #expect(message("redis:app:\(marked)@localhost")?.contains("after two slashes") == true)
    }

    @Test func configFileErrorsNeverShowThePassword() {
        for text in ["redis://app:Zq7a=bK9w@localhost\n", "backend = \"x\"\nredis://app:Zq7a=bK9w@h\n"] {
            do {
                _ = try ConfigFile.backendURL(parsing: text, path: "f.conf")
                Issue.record("accepted \(text)")
            } catch {
                #expect(!error.description.contains("Zq7"), "\(error)")
                #expect(error.description.contains("unknown key"), "\(error)")
            }
        }
    }

    @Test func configFilesWithCRLFLinesAreRead() throws {
        // "\r\n" is one Character: a split on "\n" read such a file as one comment line.
        let url = try ConfigFile.backendURL(parsing: "# windows\r\nbackend = \"memory:\"\r\n", path: "f.conf")
        #expect(url == "memory:")
    }

    @Test func parametersMayHoldAtSignsWithoutAUserPart() throws {
        let kubernetes = try parse("kubernetes://team-a?context=admin@prod&kubeconfig=/home/a@b/config")
        #expect(
            kubernetes
                == .kubernetes(
                    KubernetesURLParts(namespace: "team-a", kubeconfig: "/home/a@b/config", context: "admin@prod")))
        #expect(try parse("redis://h/0?prefix=a@b") == .redis(RedisURLParts(host: "h", keyPrefix: "a@b")))
        #expect(try parse("sqlite:///home/a@b/x.db") == .sqlite(SQLiteURLParts(path: "/home/a@b/x.db")))
        #expect(try parse("sqlite:/home/a@b/x.db") == .sqlite(SQLiteURLParts(path: "/home/a@b/x.db")))
        #expect(message("kubernetes://me:pw@team-a")?.contains("take no user name or password") == true)
    }

    @Test func relativeSQLitePathsAreRefusedWithTheAbsoluteForm() throws {
        let error = try #require(message("sqlite:relative/locks.db"))
        #expect(error.contains("must be absolute"))
        #expect(error.contains("sqlite://\(FileManager.default.currentDirectoryPath)/relative/locks.db"))
        #expect(try parse("sqlite:/abs/locks.db") == .sqlite(SQLiteURLParts(path: "/abs/locks.db")))
    }

    @Test func numbersAreBounded() throws {
        #expect(try parse("redis://h?pool=256") == .redis(RedisURLParts(host: "h", poolSize: 256)))
        #expect(message("redis://h?pool=257")?.contains("from 1 to 256") == true)
        #expect(message("redis://h?pool=99999999999999999999999")?.contains("from 1 to 256") == true)
        #expect(try parse("redis://h?timeout=1h") == .redis(RedisURLParts(host: "h", commandTimeout: .seconds(3600))))
        #expect(message("redis://h?timeout=61m")?.contains("timeout must be at most 1h") == true)
        #expect(message("redis://h?connect_timeout=99999999999s")?.contains("at most 1h") == true)
        #expect(message("redis://h?reply_spin=2s")?.contains("at most 1s") == true)
        #expect(message("sqlite:?busy_timeout=2h")?.contains("at most 1h") == true)
        #expect(try parse("redis://h/2147483647") == .redis(RedisURLParts(host: "h", database: 2_147_483_647)))
        #expect(message("redis://h/2147483648")?.contains("selects a database by number") == true)
        #expect(message("redis://h:0")?.contains("1 to 65535") == true)
    }

    @Test func durationsAreExactAndBounded() throws {
        #expect(try DurationSyntax.parse("3155760000s") == DurationSyntax.maximum)
        #expect(try DurationSyntax.parse("876600h") == DurationSyntax.maximum)
        #expect(try DurationSyntax.parse("0.000000001s") == .nanoseconds(1))
        #expect(try DurationSyntax.parse("1.000000001s") == .nanoseconds(1_000_000_001))
        #expect(try DurationSyntax.parse(".5m") == .seconds(30))
        #expect(try DurationSyntax.parse("150us") == .microseconds(150))
        for text in ["99999999999s", "3155760000.000000001s", "876601h", String(repeating: "9", count: 400)] {
            do {
                _ = try DurationSyntax.parse(text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.description.contains("at most 100 years"), "\(error)")
            }
        }
        for text in ["1e9s", "-1s", "1..5s", ".", "5 s", "五s", "0x10s"] {
            #expect(throws: LockheedError.self, "\(text)") { try DurationSyntax.parse(text) }
        }
        for duration: Duration in [
            .zero, .nanoseconds(1), .microseconds(1500), .milliseconds(1), .milliseconds(1500), .seconds(59),
            .seconds(5400), .nanoseconds(3_155_759_999_999_999_999), DurationSyntax.maximum,
        ] {
            #expect(try DurationSyntax.parse(DurationSyntax.format(duration)) == duration)
        }
        #expect(DurationSyntax.format(.microseconds(150)) == "150us")
        #expect(DurationSyntax.format(.seconds(-90)) == "-90s")
        #expect(DurationSyntax.format(.seconds(Int64.max)).hasSuffix("s"))
        #expect(DurationSyntax.format(Duration(secondsComponent: .min + 1, attosecondsComponent: -5)).hasPrefix("-"))
    }
}
