import Foundation
import NIOSSL

extension KubernetesAPIServerDouble {
    /// The double's TLS material: its certificate chain and key (PEM) and, for client-certificate
    /// authentication, the CA (PEM) that client certificates must chain to.
    public struct TLS: Sendable {
        /// The server certificate, then any intermediates, in PEM.
        public var certificateChainPEM: String
        /// The server's private key in PEM (PKCS#1, PKCS#8 or SEC1).
        public var privateKeyPEM: String
        /// The CA for client certificates; when set, a presented client certificate must verify and
        /// authenticates its common name (a client without one can still use a bearer token).
        public var clientCAPEM: String?

        /// TLS material from PEM strings.
        public init(certificateChainPEM: String, privateKeyPEM: String, clientCAPEM: String? = nil) {
            self.certificateChainPEM = certificateChainPEM
            self.privateKeyPEM = privateKeyPEM
            self.clientCAPEM = clientCAPEM
        }

        func serverConfiguration() throws -> TLSConfiguration {
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateChainPEM.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            if let clientCAPEM {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(clientCAPEM.utf8)))
                configuration.certificateVerification = .optionalVerification
            }
            return configuration
        }

        /// Makes throwaway test material with the `openssl` command in a temporary directory (deleted after):
        /// a CA, a server certificate for `127.0.0.1`/`localhost` (or, given `serverDNSNames`, for those
        /// names only) signed by it, and a client certificate
        /// (common name `lockheed-test-user`, organization `system:masters`) signed by it. Keys are P-256.
        /// Returns the server's TLS (trusting the CA for client certificates), the CA to trust, and the
        /// client's certificate and key.
        public static func generateForTests(serverDNSNames: [String]? = nil) throws
            -> (tls: TLS, caPEM: String, clientCertPEM: String, clientKeyPEM: String)
        {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("k8s-double-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
            let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            try runOpenSSL(
                ["req", "-x509"] + curve + [
                    "-keyout", path("ca.key"), "-out", path("ca.crt"), "-days", "2",
                    "-subj", "/CN=lockheed-test-ca",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                ])
            let serverSubject = "/CN=" + (serverDNSNames?.first ?? "127.0.0.1")
            let alternativeNames =
                serverDNSNames.map { $0.map { "DNS:\($0)" }.joined(separator: ",") } ?? "IP:127.0.0.1,DNS:localhost"
            for (role, subject, extensions) in [
                (
                    "server", serverSubject,
                    "subjectAltName=\(alternativeNames)\nextendedKeyUsage=serverAuth\n"
                        + "keyUsage=critical,digitalSignature,keyEncipherment\n"
                ),
                (
                    "client", "/O=system:masters/CN=lockheed-test-user",
                    "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                ),
            ] {
                try extensions.write(toFile: path("\(role).ext"), atomically: true, encoding: .utf8)
                try runOpenSSL(
                    ["req", "-new"] + curve + [
                        "-keyout", path("\(role).key"), "-out", path("\(role).csr"), "-subj", subject,
                    ])
                try runOpenSSL([
                    "x509", "-req", "-in", path("\(role).csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                    "-set_serial", String(UInt32.random(in: 1...UInt32.max)), "-days", "2",
                    "-extfile", path("\(role).ext"), "-out", path("\(role).crt"),
                ])
            }
            func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
            let caPEM = try read("ca.crt")
            let tls = TLS(
                certificateChainPEM: try read("server.crt"), privateKeyPEM: try read("server.key"),
                clientCAPEM: caPEM)
            return (tls, caPEM, try read("client.crt"), try read("client.key"))
        }

        private static func runOpenSSL(_ arguments: [String]) throws {
            let candidates = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
            guard let executable = candidates.first(where: FileManager.default.isExecutableFile(atPath:)) else {
                throw DoubleError.certificateGeneration("no openssl command (apt-get install -y openssl)")
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw DoubleError.certificateGeneration(
                    "openssl \(arguments.first ?? ""): " + String(decoding: data, as: UTF8.self))
            }
        }
    }
}
