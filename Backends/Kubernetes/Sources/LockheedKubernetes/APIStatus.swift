import Foundation
import LockheedCore

/// A Kubernetes `Status` body, as the API server returns with every error.
struct APIStatus: Decodable, Sendable {
    /// Details of the object the error is about.
    struct Details: Decodable, Sendable {
        var name: String?
        var kind: String?
    }

    var message: String?
    var reason: String?
    var code: Int?
    var details: Details?

    /// The status in `body`, or an empty one when the body is not a Status.
    static func parse(_ body: Data) -> APIStatus {
        (try? JSONDecoder().decode(APIStatus.self, from: body)) ?? APIStatus()
    }
}

/// One HTTP answer from the API server.
struct APIResponse: Sendable {
    var status: Int
    var body: Data

    var apiStatus: APIStatus { APIStatus.parse(body) }

    /// The typed error for an unexpected answer to `verb` on `resource`.
    func error(verb: String, resource: String, namespace: String) -> LockheedError {
        let status = apiStatus
        let message = status.message ?? String(decoding: body.prefix(300), as: UTF8.self)
        switch self.status {
        case 401:
            return .unauthorized(
                "the Kubernetes API server rejected the credentials (401) for \(verb) \(resource) in namespace "
                    + "\(namespace): \(message)")
        case 403:
            return .forbidden(
                "the RBAC role lacks verb \"\(verb)\" on resource \"\(resource.split(separator: "/").first ?? "")\" in namespace \(namespace) "
                    + "(see the Role in Backends/Kubernetes/README.md): \(message)")
        case 404 where status.details?.kind == "namespaces":
            return .invalidConfiguration("Kubernetes namespace \"\(namespace)\" does not exist: \(message)")
        case 422:
            return .invalidConfiguration("the API server rejected \(resource) as invalid: \(message)")
        case 429, 500...599:
            return .unavailable("the Kubernetes API server answered \(self.status) to \(verb) \(resource): \(message)")
        default:
            return .backend("the Kubernetes API server answered \(self.status) to \(verb) \(resource): \(message)")
        }
    }
}
