import Foundation
import Lockheed
import LockheedKubernetes
import LockheedPostgres
import LockheedRedis
import Testing

@Suite struct BackendURLTests {
    private func parse(_ text: String, _ environment: [String: String] = [:]) throws -> BackendConfiguration {
        try BackendConfiguration(url: text, environment: environment)
    }

    private func message(_ text: String, _ environment: [String: String] = [:]) -> String? {
        do {
            _ = try parse(text, environment)
            return nil
        } catch let error as LockheedError {
            let message = error.message
            guard error.code == .invalidConfiguration else { return "unexpected \(error)" }
            return message
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func memory() throws {
        #expect(try parse("memory:") == .memory)
        #expect(try parse("  MEMORY:  ") == .memory)
        #expect(message("memory://host")?.contains("takes no host") == true)
    }

    @Test func sqliteForms() throws {
        #expect(try parse("sqlite:") == .sqlite(SQLiteURLParts()))
        #expect(try parse("sqlite:///var/tmp/locks.db") == .sqlite(SQLiteURLParts(path: "/var/tmp/locks.db")))
        #expect(try parse("sqlite:///tmp/a%20b.db") == .sqlite(SQLiteURLParts(path: "/tmp/a b.db")))
        #expect(
            try parse("sqlite:///tmp/x.db?busy_timeout=250ms&synchronous=full")
                == .sqlite(SQLiteURLParts(path: "/tmp/x.db", busyTimeout: .milliseconds(250), synchronous: .full)))
    }

    @Test func sqliteErrors() {
        let host = message("sqlite://locks.db")
        #expect(host?.contains("have no host") == true)
        #expect(host?.contains("sqlite:///var/tmp/locks.db") == true)
        #expect(message("sqlite:?synchronous=sometimes")?.contains("normal or full") == true)
        #expect(message("sqlite:?busy_timeout=soon")?.contains("not a duration") == true)
        let unknown = message("sqlite:?journal=wal")
        #expect(unknown?.contains("unknown parameter \"journal\"") == true)
        #expect(unknown?.contains("busy_timeout, synchronous") == true)
    }

    @Test func redisForms() throws {
        #expect(try parse("redis://localhost") == .redis(RedisURLParts(host: "localhost")))
        #expect(try parse("redis:") == .redis(RedisURLParts()))
        #expect(
            try parse("redis://cache.internal:6380/3")
                == .redis(RedisURLParts(host: "cache.internal", port: 6380, database: 3)))
        #expect(
            try parse(
                "redis://app:s%40cret@10.0.0.5:7000/1?prefix=ci&timeout=1.5s&connect_timeout=500ms&pool=8&reply_spin=50us"
            )
                == .redis(
                    RedisURLParts(
                        host: "10.0.0.5", port: 7000, database: 1, username: "app", password: "s@cret", keyPrefix: "ci",
                        connectTimeout: .milliseconds(500), commandTimeout: .milliseconds(1500), poolSize: 8,
                        replySpin: .microseconds(50))))
        #expect(try parse("redis://:pw@[::1]:6379") == .redis(RedisURLParts(host: "::1", password: "pw")))
        #expect(
            try parse("redis://app@localhost", ["LOCKHEED_REDIS_PASSWORD": "from-env"])
                == .redis(RedisURLParts(host: "localhost", username: "app", password: "from-env")))
    }

    @Test func redisSettingsReachTheConfiguration() throws {
        guard case .redis(let parts) = try parse("redis://h/2?pool=3&reply_spin=0s&timeout=3s") else {
            Issue.record("not a redis URL")
            return
        }
        let configuration = parts.redisConfiguration
        #expect(configuration.database == 2 && configuration.poolSize == 3)
        #expect(configuration.replySpin == .zero && configuration.commandTimeout == .seconds(3))
        #expect(message("redis://h?reply_spin=soon")?.contains("reply_spin") == true)
    }

    @Test func redisErrors() {
        #expect(message("redis://localhost:99999")?.contains("port must be a number from 1 to 65535") == true)
        #expect(message("redis://localhost/cache")?.contains("selects a database by number") == true)
        #expect(message("redis://localhost?pool=0")?.contains("pool must be a whole number") == true)
        #expect(message("redis://localhost?timeout=0s")?.contains("timeout must be positive") == true)
        #expect(message("redis://localhost?db=2")?.contains("unknown parameter \"db\"") == true)
        #expect(message("rediss://localhost")?.contains("TLS") == true)
        let missing = message("redis://app@localhost")
        #expect(missing?.contains("has no password") == true)
        #expect(missing?.contains("LOCKHEED_REDIS_PASSWORD") == true)
        #expect(missing?.contains("for example redis://") == true)
    }

    @Test func secretsNeverShow() throws {
        let configuration = try parse("redis://app:hunter2@localhost:6379/2?prefix=x")
        #expect(!configuration.description.contains("hunter2"))
        #expect(configuration.description == "redis://app:***@localhost:6379/2?prefix=x")
        let bad = message("redis://app:hunter2@localhost:notaport")
        #expect(bad != nil)
        #expect(bad?.contains("hunter2") == false)
        #expect(bad?.contains("app:***@localhost") == true)
        let unknown = message("redis://app:hunter2@localhost?nope=1")
        #expect(unknown?.contains("hunter2") == false)
    }

    @Test("postgres URLs: any character in a password, found by the URL grammar, never shown")
    func postgresPasswords() throws {
        for password in ["p/ss", "p#ss", "p?ss", "p@ss", "p:ss", "p%ss", "p+ss", "p ss", "s3cr/t#?@"] {
            let escaped = password.replacingOccurrences(of: "%", with: "%25")
            let url = "postgres://app:\(escaped)@db.internal:5433/locks?schema=ops"
            guard case .postgres(let configuration) = try parse(url) else {
                Issue.record("\(url) is not a postgres configuration")
                continue
            }
            #expect(configuration.password == password)
            #expect(configuration.username == "app")
            #expect(configuration.host == "db.internal" && configuration.port == 5433)
            #expect(configuration.database == "locks" && configuration.schema == "ops")
            #expect(!String(describing: try parse(url)).contains(password))
            let bad = message("postgres://app:\(escaped)@db.internal:5433/locks?sslmode=sometimes")
            #expect(bad != nil && bad?.contains(password) == false, "\(bad ?? "")")
        }
    }

    @Test func kubernetesForms() throws {
        let inCluster = try parse("kubernetes:")
        #expect(inCluster == .kubernetes(KubernetesURLParts()))
        if case .kubernetes(let parts) = inCluster {
            #expect(parts.usesInClusterCredentials(environment: [:]))
        }
        #expect(try parse("k8s:") == inCluster)
        #expect(try parse("kubernetes:?prefix=locks-") == .kubernetes(KubernetesURLParts(prefix: "locks-")))
        let full = try parse("kubernetes://team-a?kubeconfig=/home/me/.kube/config&context=prod&prefix=locks-")
        #expect(
            full
                == .kubernetes(
                    KubernetesURLParts(
                        namespace: "team-a", kubeconfig: "/home/me/.kube/config", context: "prod", prefix: "locks-")))
        if case .kubernetes(let parts) = full {
            #expect(!parts.usesInClusterCredentials(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1"]))
        }
        if case .kubernetes(let parts) = try parse("kubernetes://team-a") {
            #expect(!parts.usesInClusterCredentials(environment: [:]))
            #expect(parts.usesInClusterCredentials(environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1"]))
        }
    }

    @Test func kubernetesErrors() {
        #expect(message("kubernetes://Team_A")?.contains("not a valid namespace name") == true)
        #expect(message("kubernetes://team-a/locks")?.contains("no path") == true)
        #expect(message("kubernetes://team-a?user=me")?.contains("unknown parameter \"user\"") == true)
        #expect(message("kubernetes://team-a?context=")?.contains("must not be empty") == true)
        #expect(message("kubernetes://team-a?kind=secret")?.contains("use kind=configmap or kind=lease") == true)
    }

    @Test func kubernetesLeaseKind() throws {
        #expect(
            try parse("kubernetes://team-a?kind=lease")
                == .kubernetes(KubernetesURLParts(namespace: "team-a", kind: .lease)))
        #expect(
            try parse("kubernetes://team-a?kind=Leases")
                == .kubernetes(KubernetesURLParts(namespace: "team-a", kind: .lease)))
        #expect(
            try parse("kubernetes://team-a?kind=configmap")
                == .kubernetes(KubernetesURLParts(namespace: "team-a", kind: .configMap)))
        #expect(String(describing: try parse("kubernetes://team-a?kind=lease")) == "kubernetes://team-a?kind=lease")
        let directory = try TemporaryDirectory()
        let kubeconfig = try directory.writeKubeconfig(server: "http://127.0.0.1:1")
        let lease = KubernetesURLParts(namespace: "team-a", kubeconfig: kubeconfig, kind: .lease)
        #expect(try lease.kubernetesConfiguration(environment: [:]).kind == .lease)
        let plain = KubernetesURLParts(namespace: "team-a", kubeconfig: kubeconfig)
        #expect(try plain.kubernetesConfiguration(environment: [:]).kind == .configMap)
    }

    @Test func unknownSchemeShowsExamples() {
        let unknown = message("etcd://localhost:2379")
        #expect(unknown?.contains("unknown backend scheme \"etcd:\"") == true)
        for example in BackendConfiguration.examples { #expect(unknown?.contains(example) == true) }
        #expect(message("")?.contains("empty") == true)
        #expect(message("/var/tmp/locks.db")?.contains("has no scheme") == true)
        #expect(message("sqlite:?a=1&a=2")?.contains("given twice") == true)
        #expect(message("redis://h?timeout")?.contains("key=value") == true)
    }

    @Test(arguments: [
        "memory:", "sqlite:", "sqlite:///var/tmp/locks%20x.db?busy_timeout=5s&synchronous=normal",
        "redis://127.0.0.1:6379/0", "redis://u:p@host:1/2?prefix=a&timeout=2s&connect_timeout=1s&pool=3",
        "redis://h/0?reply_spin=0s", "redis://h/0?reply_spin=150us",
        "redis://[::1]:6379/0", "kubernetes:", "kubernetes://ns?kubeconfig=/k&context=c&prefix=p",
        "kubernetes:?prefix=p", "kubernetes://ns?kind=lease", "kubernetes:?prefix=p&kind=configmap",
    ])
    func descriptionParsesBack(_ text: String) throws {
        let configuration = try parse(text)
        let reparsed = try parse(configuration.description.replacingOccurrences(of: "***", with: "p"))
        #expect(reparsed == configuration)
    }

    @Test func selectionOrder() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lockheed-sel-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("lockheed.conf").path
        try "# comment\n\nbackend = \"redis://cfg:6379\"\n".write(toFile: file, atomically: true, encoding: .utf8)

        let fromArgument = try BackendSelection.resolve(
            argument: "memory:", configFile: file, environment: ["LOCKHEED_BACKEND": "sqlite:"])
        #expect(fromArgument.configuration == .memory && fromArgument.source == .argument)
        let fromEnvironment = try BackendSelection.resolve(
            configFile: file, environment: ["LOCKHEED_BACKEND": "sqlite:///x.db"])
        #expect(fromEnvironment.configuration == .sqlite(SQLiteURLParts(path: "/x.db")))
        #expect(fromEnvironment.source == .environment)
        let fromFile = try BackendSelection.resolve(configFile: file, environment: [:])
        #expect(fromFile.configuration == .redis(RedisURLParts(host: "cfg")) && fromFile.source == .configFile(file))
        let fromConfigVariable = try BackendSelection.resolve(environment: ["LOCKHEED_CONFIG": file])
        #expect(fromConfigVariable.configuration == fromFile.configuration)
        let fallback = try BackendSelection.resolve(environment: [:])
        #expect(fallback.configuration == .default && fallback.source == .default)
    }

    @Test func configFileErrors() {
        func error(_ text: String) -> String? {
            do {
                _ = try ConfigFile.backendURL(parsing: text, path: "f.conf")
                return nil
            } catch {
                return error.description
            }
        }
        #expect(error("backend sqlite:")?.contains("f.conf:1: expected `key = value`") == true)
        #expect(error("\nbackends = sqlite:")?.contains("f.conf:2: unknown key \"backends\"") == true)
        #expect(error("# nothing\n")?.contains("no `backend = URL` line") == true)
        #expect(error("backend = a:\nbackend = b:")?.contains("set twice") == true)
        #expect(throws: LockheedError.self) {
            try BackendSelection.resolve(environment: ["LOCKHEED_BACKEND": "bogus:"])
        }
    }

    @Test func durations() throws {
        #expect(try DurationSyntax.parse("500ms") == .milliseconds(500))
        #expect(try DurationSyntax.parse("1.5s") == .milliseconds(1500))
        #expect(try DurationSyntax.parse("2m") == .seconds(120))
        #expect(try DurationSyntax.parse("1h") == .seconds(3600))
        #expect(try DurationSyntax.parse("7") == .seconds(7))
        #expect(throws: LockheedError.self) { try DurationSyntax.parse("-1s") }
        #expect(throws: LockheedError.self) { try DurationSyntax.parse("soon") }
        #expect(throws: LockheedError.self) { try DurationSyntax.parse("s") }
        #expect(DurationSyntax.format(.milliseconds(1500)) == "1.5s")
        #expect(DurationSyntax.format(.milliseconds(250)) == "250ms")
        #expect(DurationSyntax.format(.seconds(120)) == "2m")
    }

    @Test func memoryLockerIsBuilt() async throws {
        let locker = try BackendConfiguration.memory.makeLocker()
        #expect(locker.backendName == "memory")
        await locker.shutdown()
    }
}
