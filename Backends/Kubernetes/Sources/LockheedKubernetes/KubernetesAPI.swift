import AsyncHTTPClient
import Foundation
import LockheedCore
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The REST calls a locker makes, with authentication, retries of transient failures and typed
/// errors. Owns its `HTTPClient`; call ``shutdown()`` once.
final class KubernetesAPI: Sendable {
    let configuration: KubernetesConfiguration
    let client: HTTPClient
    /// Where requests go: the server URL, or with `tls-server-name` the same URL naming that
    /// host, which the client's DNS override connects to the server's real host.
    let baseURL: String
    private let tokens: TokenSource?
    private let requests = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)

    init(configuration: KubernetesConfiguration) throws(LockheedError) {
        try configuration.validate()
        self.configuration = configuration
        tokens = TokenSource(configuration.authentication)
        var http = HTTPClient.Configuration()
        http.timeout = HTTPClient.Configuration.Timeout(connect: .seconds(5), read: nil)
        http.redirectConfiguration = .disallow
        var baseURL = configuration.baseURL
        if configuration.server.hasPrefix("https://") {
            http.tlsConfiguration = try Self.tlsConfiguration(configuration.tls)
            if let serverName = configuration.tls.serverName, !serverName.isEmpty,
                !configuration.tls.insecureSkipVerify
            {
                // Verify the certificate against `serverName` (and send it as SNI), as client-go
                // does: requests name that host, and the DNS override connects to the real one.
                let (url, realHost) = try Self.replacingHost(of: baseURL, with: serverName)
                baseURL = url
                http.dnsOverride = [serverName: realHost]
            }
        }
        self.baseURL = baseURL
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }

    deinit {
        // A locker dropped without shutdown(): close the client in the background rather than
        // let AsyncHTTPClient's debug check crash the program.
        if !isShutDown.load(ordering: .relaxed) { client.shutdown { _ in } }
    }

    /// Requests sent so far, retries included.
    var requestCount: Int { requests.load(ordering: .relaxed) }

    func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .relaxed) else { return }
        try? await client.shutdown()
    }

    /// The path of the ConfigMap collection of the configured namespace.
    var collectionPath: String { "/api/v1/namespaces/\(configuration.namespace)/configmaps" }

    /// Sends one request, retrying 429, 5xx, dropped connections and timeouts with jittered
    /// exponential backoff (honouring `Retry-After`), then throwing ``LockheedError/unavailable(_:)``.
    /// Answers other than those come back as they are, for the caller to interpret.
    func send(
        _ method: HTTPMethod, path: String, query: [(String, String)] = [], body: Data? = nil, verb: String,
        resource: String
    ) async throws(LockheedError) -> APIResponse {
        var lastProblem = ""
        var reauthenticated = false
        var attempt = 0
        while attempt < configuration.maxAttempts {
            attempt += 1
            if Task.isCancelled { throw .cancelled }
            let request = try makeRequest(method, path: path, query: query, body: body)
            requests.add(1, ordering: .relaxed)
            var retryAfter: Duration?
            do {
                let response = try await client.execute(request, timeout: .init(configuration.requestTimeout))
                let data = try await response.body.collect(upTo: 16 << 20)
                let answer = APIResponse(status: Int(response.status.code), body: Data(data.readableBytesView))
                switch answer.status {
                case 401 where tokens?.isFile == true && !reauthenticated:
                    // The token may have rotated between our stat and the server's check.
                    tokens?.invalidate()
                    reauthenticated = true
                    attempt -= 1
                    continue
                case 429, 500, 502, 503, 504:
                    lastProblem = "HTTP \(answer.status): \(answer.apiStatus.message ?? "")"
                    if let header = response.headers.first(name: "Retry-After"), let seconds = Int(header) {
                        retryAfter = .seconds(min(max(seconds, 0), 30))
                    }
                    if attempt >= configuration.maxAttempts {
                        throw answer.error(verb: verb, resource: resource, namespace: configuration.namespace)
                    }
                default:
                    return answer
                }
            } catch let error as LockheedError {
                throw error
            } catch {
                if Task.isCancelled { throw .cancelled }
                if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
                    let name = configuration.tls.serverName ?? URLComponents(string: configuration.server)?.host ?? ""
                    throw .unavailable(
                        "TLS with \(configuration.server) failed: the server's certificate is not valid for "
                            + "\"\(name)\" (set tls-server-name to a name the certificate holds)")
                }
                if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
                    throw .unavailable("TLS with \(configuration.server) failed: \(error)")
                }
                lastProblem = Self.describe(error)
            }
            if attempt < configuration.maxAttempts {
                try await sleepCancellable(for: retryAfter ?? Self.backoff(attempt: attempt))
            }
        }
        throw .unavailable(
            "\(verb) \(resource) failed \(configuration.maxAttempts) times against \(configuration.server): \(lastProblem)"
        )
    }

    /// ``send(_:path:query:body:verb:resource:)`` with the method by name, for tools and tests.
    func send(method: String, path: String, body: Data? = nil) async throws(LockheedError) -> APIResponse {
        try await send(HTTPMethod(rawValue: method), path: path, body: body, verb: method.lowercased(), resource: path)
    }

    /// Opens a streaming request (a watch); the caller reads the body. Not retried.
    func stream(path: String, query: [(String, String)], deadline: Duration) async throws(LockheedError)
        -> HTTPClientResponse
    {
        let request = try makeRequest(.GET, path: path, query: query, body: nil)
        requests.add(1, ordering: .relaxed)
        do {
            return try await client.execute(request, timeout: .init(deadline))
        } catch {
            if Task.isCancelled { throw .cancelled }
            throw .unavailable("watch on \(configuration.server) failed: \(Self.describe(error))")
        }
    }

    private func makeRequest(_ method: HTTPMethod, path: String, query: [(String, String)], body: Data?)
        throws(LockheedError) -> HTTPClientRequest
    {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { "\(Self.escape($0.0))=\(Self.escape($0.1))" }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "lockheed-swift")
        if let tokens {
            request.headers.add(name: "Authorization", value: "Bearer \(try tokens.token())")
        }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// 100 ms doubling per attempt up to 2 s, with full jitter down to half.
    static func backoff(attempt: Int) -> Duration {
        let base = min(100.0 * pow(2.0, Double(attempt - 1)), 2000.0)
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.0)))
    }

    /// After a 409 someone else's write has already landed, so retry soon, like client-go's
    /// `RetryOnConflict`: 10 ms doubling per conflict up to 200 ms, with jitter down to half.
    static func conflictBackoff(attempt: Int) -> Duration {
        let base = min(10.0 * pow(2.0, Double(attempt - 1)), 200.0)
        return .microseconds(Int64(base * 1000 * Double.random(in: 0.5...1.0)))
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "the request timed out"
            case .connectTimeout: return "connecting timed out"
            case .remoteConnectionClosed: return "the server closed the connection"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    /// `url` with its host replaced by `serverName`, and the host it had (without IPv6 brackets).
    static func replacingHost(of url: String, with serverName: String) throws(LockheedError) -> (String, String) {
        let nameBytes = Array(serverName.utf8)
        let allowed = nameBytes.allSatisfy { b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
        }
        guard allowed, nameBytes.count <= 253 else {
            throw .invalidConfiguration("tls-server-name \"\(serverName)\" is not a host name")
        }
        guard let schemeEnd = url.range(of: "://") else {
            throw .invalidConfiguration("Kubernetes server \"\(url)\" has no scheme")
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        let host: Substring
        let port: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw .invalidConfiguration("Kubernetes server \"\(url)\" has an unclosed IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            port = authority[authority.index(after: close)...]
        } else {
            host = authority.prefix { $0 != ":" }
            port = authority.dropFirst(host.count)
        }
        return (url[..<schemeEnd.upperBound] + serverName + port + path, String(host))
    }

    private static func tlsConfiguration(_ options: KubernetesConfiguration.TLSOptions) throws(LockheedError)
        -> TLSConfiguration
    {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = options.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if options.insecureSkipVerify { tls.certificateVerification = .none }
            if let certificate = options.clientCertificatePEM, let key = options.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw .invalidConfiguration("cannot load the TLS certificates or key: \(error)")
        }
        return tls
    }
}

extension TimeAmount {
    /// The same span as a NIO `TimeAmount`.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
