import Foundation

/// A failure the double answers with a Kubernetes `Status` object (`kind: Status`, `status: Failure`).
struct APIError: Error, Sendable {
    var code: Int
    var reason: String
    var message: String
    var detailsName: String?
    var detailsKind: String?
    var causes: [[String: String]] = []
    var retryAfterSeconds: Int?

    /// The `Status` JSON body, shaped like the real API server's.
    func statusBody() -> Data {
        var status: [String: Any] = [
            "kind": "Status", "apiVersion": "v1", "metadata": [String: Any](),
            "status": "Failure", "message": message, "code": code,
        ]
        if !reason.isEmpty { status["reason"] = reason }
        var details: [String: Any] = [:]
        if let detailsName { details["name"] = detailsName }
        if let detailsKind { details["kind"] = detailsKind }
        if !causes.isEmpty { details["causes"] = causes }
        if let retryAfterSeconds { details["retryAfterSeconds"] = retryAfterSeconds }
        if !details.isEmpty { status["details"] = details }
        return JSON.encode(status)
    }

    static func notFound(_ resource: String, _ name: String) -> APIError {
        APIError(
            code: 404, reason: "NotFound", message: "\(resource) \"\(name)\" not found",
            detailsName: name, detailsKind: resource)
    }

    static func alreadyExists(_ resource: String, _ name: String) -> APIError {
        APIError(
            code: 409, reason: "AlreadyExists", message: "\(resource) \"\(name)\" already exists",
            detailsName: name, detailsKind: resource)
    }

    static func conflict(_ resource: String, _ name: String, _ detail: String) -> APIError {
        APIError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource) \"\(name)\": \(detail)",
            detailsName: name, detailsKind: resource)
    }

    static func staleResourceVersion(_ resource: String, _ name: String) -> APIError {
        conflict(
            resource, name,
            "the object has been modified; please apply your changes to the latest version and try again")
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(code: 400, reason: "BadRequest", message: message)
    }

    static let unauthorized = APIError(code: 401, reason: "Unauthorized", message: "Unauthorized")

    static func forbidden(user: String, verb: String, resource: String, name: String?, namespace: String?)
        -> APIError
    {
        let subject = name.map { "\(resource) \"\($0)\"" } ?? resource
        var message =
            "\(subject) is forbidden: User \"\(user)\" cannot \(verb) resource \"\(resource)\" in API group \"\""
        if let namespace { message += " in the namespace \"\(namespace)\"" } else { message += " at the cluster scope" }
        return APIError(code: 403, reason: "Forbidden", message: message, detailsName: name, detailsKind: resource)
    }

    /// A `422 Invalid` naming the kind (not the resource) and each invalid field, as validation does.
    static func invalid(kind: String, name: String, causes: [(field: String, message: String)]) -> APIError {
        let joined = causes.map { "\($0.field): \($0.message)" }.joined(separator: ", ")
        let summary = causes.count == 1 ? joined : "[\(joined)]"
        return APIError(
            code: 422, reason: "Invalid", message: "\(kind) \"\(name)\" is invalid: \(summary)",
            detailsName: name, detailsKind: kind,
            causes: causes.map { ["reason": "FieldValueInvalid", "message": $0.message, "field": $0.field] })
    }

    static func expired(_ message: String) -> APIError {
        APIError(code: 410, reason: "Expired", message: message)
    }

    static func methodNotAllowed(_ method: String) -> APIError {
        APIError(
            code: 405, reason: "MethodNotAllowed",
            message: "the server does not allow this method on the requested resource")
    }

    static func pathNotFound(_ path: String) -> APIError {
        APIError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    }

    /// A plain (non-API) error from storage: code 500 with no reason, as `ErrorToAPIStatus` makes it.
    static func unknown(_ message: String) -> APIError {
        APIError(code: 500, reason: "", message: message)
    }

    /// The Status the API server sends for an injected status code (`500`, `429`, `503`, …).
    static func injected(code: Int, retryAfterSeconds: Int?) -> APIError {
        let (reason, message): (String, String) =
            switch code {
            case 429: ("TooManyRequests", "Too many requests, please try again later.")
            case 500: ("InternalError", "Internal error occurred: injected fault")
            case 503: ("ServiceUnavailable", "The server is currently unable to handle the request")
            case 504: ("Timeout", "The server was unable to return a response in the time allotted")
            case 401: ("Unauthorized", "Unauthorized")
            case 403: ("Forbidden", "forbidden: injected fault")
            case 409: ("Conflict", "Operation cannot be fulfilled: injected fault")
            default: ("InternalError", "injected fault with status \(code)")
            }
        return APIError(code: code, reason: reason, message: message, retryAfterSeconds: retryAfterSeconds)
    }
}

/// JSON helpers over `JSONSerialization`: the double keeps objects as free-form JSON like the API server.
enum JSON {
    static func encode(_ value: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: value, options: [.withoutEscapingSlashes, .sortedKeys]))
            ?? Data("{}".utf8)
    }

    static func decodeObject(_ data: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}
