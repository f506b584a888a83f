import Foundation

/// A resource the double serves: ConfigMaps (core/v1) or Leases (coordination.k8s.io/v1).
public struct ResourceKind: Sendable, Hashable {
    /// The plural name in URLs and RBAC rules, e.g. `configmaps`.
    public var plural: String
    /// The object kind, e.g. `ConfigMap`.
    public var kind: String
    /// The objects' `apiVersion`, e.g. `v1` or `coordination.k8s.io/v1`.
    public var apiVersion: String

    /// `configmaps` (core/v1).
    public static let configMaps = ResourceKind(plural: "configmaps", kind: "ConfigMap", apiVersion: "v1")
    /// `leases` (coordination.k8s.io/v1).
    public static let leases = ResourceKind(plural: "leases", kind: "Lease", apiVersion: "coordination.k8s.io/v1")

    /// The list kind, e.g. `ConfigMapList`.
    var listKind: String { kind + "List" }

    /// The resource named by an API path's group/version segments and plural, if served.
    static func served(groupVersion: [String], plural: String) -> ResourceKind? {
        switch (groupVersion, plural) {
        case (["api", "v1"], "configmaps"): .configMaps
        case (["apis", "coordination.k8s.io", "v1"], "leases"): .leases
        default: nil
        }
    }
}
