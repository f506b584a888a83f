import Foundation
import KubernetesAPIDouble
import LockheedCore

@testable import LockheedKubernetes

/// What the Go original (goblain/lockheed v0.5.3) does to a ConfigMap it writes, as recorded in
/// `GoWire/README.md`: it decodes `data["lock"]` into its own struct (`name`, `lockType`,
/// `leases{instanceID, expires}`, `tags`), changes it, encodes it back (so every other field is
/// dropped and each time is re-encoded the way Go's `time.Time` does) and PUTs the object with
/// its `metadata` (labels, annotations) as it read them.
enum GoClient {
    /// Go's `Lease`.
    struct Lease: Codable {
        var instanceID: String
        var expires: String
    }

    /// Go's `Lock`; Go encodes a nil map as `null` and `tags` with `omitempty`.
    struct Lock: Codable {
        var name: String
        var lockType: String
        var leases: [String: Lease]?
        var tags: [String]?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(lockType, forKey: .lockType)
            try container.encode(leases, forKey: .leases)
            if let tags, !tags.isEmpty { try container.encode(tags, forKey: .tags) }
        }
    }

    /// Decodes `text` into Go's fields only.
    static func decode(_ text: String) throws -> Lock {
        try JSONDecoder().decode(Lock.self, from: Data(text.utf8))
    }

    /// Encodes as Go's `json.Marshal` would, times re-encoded in Go's RFC 3339 with nanoseconds.
    static func encode(_ lock: Lock) -> String {
        var copy = lock
        if let leases = copy.leases {
            copy.leases = leases.mapValues { Lease(instanceID: $0.instanceID, expires: goTime($0.expires)) }
        }
        let data = (try? JSONEncoder().encode(copy)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Go's `time.RFC3339Nano` of a UTC time: trailing zeros of the fraction dropped.
    static func goTime(_ text: String) -> String {
        guard text.hasSuffix("Z"), let dot = text.firstIndex(of: ".") else { return text }
        var fraction = String(text[text.index(after: dot)..<text.index(before: text.endIndex)])
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return String(text[..<dot]) + (fraction.isEmpty ? "" : "." + fraction) + "Z"
    }

    /// Rewrites `object` in place as one Go write that changes nothing would (`body` may change
    /// the decoded lock first). With `strippingOurAnnotations`, our `lockheed.io/` annotations go too:
    /// the harshest loss, with no copy of the counter left in the object.
    static func roundTrip(
        _ object: inout [String: Any], strippingOurAnnotations: Bool = false, _ body: (inout Lock) -> Void = { _ in }
    ) {
        var data = object["data"] as? [String: Any] ?? [:]
        if let text = data["lock"] as? String, var lock = try? decode(text) {
            body(&lock)
            data["lock"] = encode(lock)
            object["data"] = data
        }
        guard strippingOurAnnotations else { return }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        var annotations = metadata["annotations"] as? [String: Any] ?? [:]
        for key in annotations.keys where key.hasPrefix("lockheed.io/") { annotations[key] = nil }
        metadata["annotations"] = annotations
        object["metadata"] = metadata
    }

    /// One Go write over HTTP: GET the ConfigMap, round-trip `data["lock"]` through Go's fields
    /// (after `body`), PUT it back with its resourceVersion, labels and annotations.
    static func write(
        _ api: KubernetesAPI, configMap: String, _ body: @escaping (inout Lock) -> Void = { _ in }
    ) async throws {
        let path = "\(api.collectionPath)/\(configMap)"
        let response = try await api.send(method: "GET", path: path)
        guard response.status == 200,
            var object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
        else { throw GoClientError.unexpected("GET \(configMap): HTTP \(response.status)") }
        roundTrip(&object, body)
        let put = try await api.send(
            method: "PUT", path: path, body: try JSONSerialization.data(withJSONObject: object))
        guard put.status == 200 else { throw GoClientError.unexpected("PUT \(configMap): HTTP \(put.status)") }
    }
}

/// A Go-client step that did not get the answer it expects.
enum GoClientError: Error {
    case unexpected(String)
}
