/// The Lease objects client-go v0.23's leader election (`leaderelection.RunOrDie` with a
/// `resourcelock.LeaseLock`, lease duration 15 s, renew deadline 10 s, retry period 2 s) wrote on
/// a real kube-apiserver v1.23.16 (etcd 3.4), verbatim from the project's shared
/// `reference/client-go-lease/` (`uid`, `creationTimestamp` and `managedFields` removed there).
///
/// In order: candidate `a` leads (`01`), renews twice (`02`: only `renewTime` moved), `b` waits
/// and writes nothing (`03`), `a` is killed and `b` takes over after the lease duration (`04`:
/// `leaseTransitions` 1), `b` releases on cancel (`05`: empty holder, duration 1 s, both times
/// the release time), `c` acquires after the release (`06`: `leaseTransitions` 2).
enum ClientGoLeaseRecords {
    /// File name to YAML text.
    static let all: [String: String] = [
        "01-a-leader-first-acquisition.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "843"
        spec:
          acquireTime: "2026-11-30T23:52:10.351330Z"
          holderIdentity: a
          leaseDurationSeconds: 15
          leaseTransitions: 0
          renewTime: "2026-11-30T23:52:10.363377Z"
        """#,
        "02-a-after-two-renewals.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "845"
        spec:
          acquireTime: "2026-11-30T23:52:10.351330Z"
          holderIdentity: a
          leaseDurationSeconds: 15
          leaseTransitions: 0
          renewTime: "2026-11-30T23:52:14.373782Z"
        """#,
        "03-b-waiting-while-a-leads.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "850"
        spec:
          acquireTime: "2026-11-30T23:52:10.351330Z"
          holderIdentity: a
          leaseDurationSeconds: 15
          leaseTransitions: 0
          renewTime: "2026-11-30T23:52:24.411693Z"
        """#,
        "04-b-took-over-after-a-sigkill.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "852"
        spec:
          acquireTime: "2026-11-30T23:52:42.939493Z"
          holderIdentity: b
          leaseDurationSeconds: 15
          leaseTransitions: 1
          renewTime: "2026-11-30T23:52:42.946882Z"
        """#,
        "05-b-released-on-sigterm.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "854"
        spec:
          acquireTime: "2026-11-30T23:52:46.758694Z"
          holderIdentity: ""
          leaseDurationSeconds: 1
          leaseTransitions: 1
          renewTime: "2026-11-30T23:52:46.758694Z"
        """#,
        "06-c-acquired-after-release.yaml": #"""
        apiVersion: coordination.k8s.io/v1
        kind: Lease
        metadata:
          name: golden
          namespace: default
          resourceVersion: "856"
        spec:
          acquireTime: "2026-11-30T23:52:47.081559Z"
          holderIdentity: c
          leaseDurationSeconds: 15
          leaseTransitions: 2
          renewTime: "2026-11-30T23:52:47.096198Z"
        """#,
    ]
}
