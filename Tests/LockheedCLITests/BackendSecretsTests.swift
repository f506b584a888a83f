import Foundation
import LockheedConformance
import LockheedTestSupport
import Testing

/// Passwords with every character that delimits a URL, given to the `lockheed` binary through
/// each way it reads a backend URL, never appear in what it prints (errors and `--verbose` logs).
@Suite(.loadsMachine) struct BackendSecretsTests {
    /// How the URL reaches the binary.
    enum Channel: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case argument
        case environment
        case configFile

        var testDescription: String { rawValue }
    }

    /// Each password holds one delimiter (or all of them) between two marker words; neither
    /// marker may show up in the output.
    static let passwords = [
        "Zq7alpha/omegaK9", "Zq7alpha#omegaK9", "Zq7alpha?omegaK9", "Zq7alpha@omegaK9", "Zq7alpha:omegaK9",
        "Zq7alpha%omegaK9", "Zq7alpha%41omegaK9", "Zq7alpha+omegaK9", "Zq7alpha omegaK9",
        "Zq7alpha/#?@:%+ omegaK9",
    ]

    /// URL shapes that exercise a successful parse (then a refused connection), each parse error
    /// that prints the URL, the form without `//`, and the password as a parameter.
    static func urls(password: String, port: Int) -> [String] {
        [
            "redis://user:\(password)@127.0.0.1:\(port)/0",
            "redis://:\(password)@127.0.0.1:\(port)/0?prefix=p",
            "redis://user:\(password)@127.0.0.1:\(port)/0?bogus=1",
            "redis://user:\(password)@127.0.0.1:notaport/0",
            "redis://user:\(password)@127.0.0.1:\(port)/notadb",
            "redis://user:\(password)@127.0.0.1:\(port)/0#fragment",
            "redis:user:\(password)@127.0.0.1:\(port)",
            "redis://127.0.0.1:\(port)/0?password=\(password)",
            "redis://127.0.0.1:\(port)/0?prefix=p&password=\(password)&timeout=1s",
            "rediss://user:\(password)@127.0.0.1:\(port)/0",
            "redis-typo://user:\(password)@127.0.0.1:\(port)/0",
            "kubernetes://user:\(password)@team-a",
            "sqlite://user:\(password)@host/tmp/x.db",
        ]
    }

    @Test(arguments: Channel.allCases, passwords)
    func passwordNeverPrinted(_ channel: Channel, _ password: String) async throws {
        let directory = try TemporaryDirectory()
        let port = freeLoopbackPort()
        for url in Self.urls(password: password, port: port) {
            var arguments = ["list", "--verbose"]
            var environment: [String: String] = [:]
            switch channel {
            case .argument: arguments += ["--backend", url]
            case .environment: environment["LOCKHEED_BACKEND"] = url
            case .configFile:
                let file = directory.path("lockheed.conf")
                try "# test\nbackend = \"\(url)\"\n".write(toFile: file, atomically: true, encoding: .utf8)
                arguments += ["--config", file]
            }
            let run = try await CLIProcess.run(
                arguments, in: directory.url, environment: environment, timeout: .seconds(30))
            let output = run.stdout + run.stderr
            #expect(run.status == 64 || run.status == 69, "\(url): exit \(run.status): \(run.stderr)")
            #expect(!run.stderr.isEmpty, "\(url): no message")
            for marker in ["Zq7alpha", "omegaK9"] {
                #expect(!output.contains(marker), "\(channel) \(url) printed the password: \(output)")
            }
        }
    }
}
