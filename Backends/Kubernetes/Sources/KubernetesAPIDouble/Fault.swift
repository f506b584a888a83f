extension KubernetesAPIServerDouble {
    /// A failure the double injects into matching requests.
    public enum Fault: Sendable, Equatable {
        /// Delays the request by this long, then serves it normally.
        case latency(Duration)
        /// Answers with this HTTP status (500, 429, 503, …) and its `Status` body, with `Retry-After` when given.
        case status(Int, retryAfterSeconds: Int?)
        /// Closes the connection without answering.
        case dropConnection
        /// A competing writer: for a PUT or DELETE of an existing object the double first writes the object
        /// itself (an annotation change that bumps its resourceVersion and notifies watchers), so the request
        /// meets a genuine stale-resourceVersion `409 Conflict`; any other request gets a `409 Conflict` Status.
        case conflict
    }

    /// Which requests a fault applies to: an operation (`GET`, `LIST`, `WATCH`, `POST`, `PUT`, `DELETE`, or `*`),
    /// optionally one object name (for LIST and WATCH, the `metadata.name` field-selector value) and namespace.
    public struct RequestMatcher: Sendable, Equatable {
        /// The operation, uppercase; `*` matches every one.
        public var verb: String
        /// The object name, or nil for any.
        public var name: String?
        /// The namespace, or nil for any.
        public var namespace: String?

        /// Matches `verb` requests, optionally only for the object `name` in `namespace`.
        public init(verb: String, name: String? = nil, namespace: String? = nil) {
            self.verb = verb.uppercased()
            self.name = name
            self.namespace = namespace
        }

        /// Matches `verb` requests, optionally only for the object `name`.
        public static func verb(_ verb: String, name: String? = nil) -> RequestMatcher {
            RequestMatcher(verb: verb, name: name)
        }

        /// Matches every request to the ConfigMap API.
        public static let any = RequestMatcher(verb: "*")

        func matches(verb: String, name: String?, namespace: String?) -> Bool {
            (self.verb == "*" || self.verb == verb) && (self.name == nil || self.name == name)
                && (self.namespace == nil || self.namespace == namespace)
        }
    }
}

/// A fault armed for a number of matching requests.
struct ArmedFault: Sendable {
    var fault: KubernetesAPIServerDouble.Fault
    var matcher: KubernetesAPIServerDouble.RequestMatcher
    var remaining: Int
}
