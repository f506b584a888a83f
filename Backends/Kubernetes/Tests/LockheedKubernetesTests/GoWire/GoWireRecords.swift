/// The ConfigMaps the Go original (goblain/lockheed v0.5.3) left on a real kube-apiserver
/// (v1.23.16, etcd 3.4), verbatim from the project's shared `reference/go-wire/` (only `uid`,
/// `creationTimestamp`, `resourceVersion` and `managedFields` were removed there).
///
/// How the Go library produced each: `go-held-mutex-with-tags` an `Acquire` of a new lock (30 s,
/// tags); `go-held-infinite` an `Acquire` with duration 0; `go-released` an `Acquire` then
/// `Release`; `go-created-not-acquired` an `Acquire` by a user allowed to create but not update
/// ConfigMaps (the library created the object and failed before its first update: `lockType ""`,
/// `leases null`, which Go treats as a free mutex); `go-held-offset-time` an `Acquire` under
/// `TZ=Europe/Prague`; `go-reservation-left-after-forced-loss` a lock last written by us, then
/// force-taken from a Go holder whose renew loop failed and left `reserved/by` and
/// `reserved/expires`; `go-reservation-offset-time` the same in a `+01:00` zone. The Go library
/// labels what it creates `lockheed/lock: ""` and keeps the label value on its updates.
enum GoWireRecords {
    /// File name to YAML text.
    static let all: [String: String] = [
        "go-created-not-acquired.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"name":"fresh","lockType":"","leases":null,"tags":["t1"]}'
        kind: ConfigMap
        metadata:
          labels:
            lockheed/lock: ""
          name: lockheed-fresh
          namespace: default
        """#,
        "go-held-infinite.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"name":"forever","lockType":"mutex","leases":{"go-forever":{"instanceID":"go-forever","expires":"9999-12-31T23:59:59Z"}}}'
        kind: ConfigMap
        metadata:
          labels:
            lockheed/lock: ""
          name: lockheed-forever
          namespace: default
        """#,
        "go-held-mutex-with-tags.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"name":"held","lockType":"mutex","leases":{"go-holder-1":{"instanceID":"go-holder-1","expires":"2026-11-30T23:43:53.682534774Z"}},"tags":["team-go","nightly"]}'
        kind: ConfigMap
        metadata:
          labels:
            lockheed/lock: ""
          name: lockheed-held
          namespace: default
        """#,
        "go-held-offset-time.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"name":"prague","lockType":"mutex","leases":{"go-prague":{"instanceID":"go-prague","expires":"2026-12-01T00:43:59.500010989+01:00"}}}'
        kind: ConfigMap
        metadata:
          labels:
            lockheed/lock: ""
          name: lockheed-prague
          namespace: default
        """#,
        "go-released.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"name":"rel","lockType":"mutex","leases":{}}'
        kind: ConfigMap
        metadata:
          labels:
            lockheed/lock: ""
          name: lockheed-rel
          namespace: default
        """#,
        "go-reservation-left-after-forced-loss.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"fencingCounter":1,"leases":{},"lockType":"mutex","name":"lock-e3"}'
        kind: ConfigMap
        metadata:
          annotations:
            reserved/by: go-e3
            reserved/expires: "2026-11-30T23:39:48Z"
          labels:
            lockheed/lock: lock-e3
          name: lockheed-lock-e3
          namespace: default
        """#,
        "go-reservation-offset-time.yaml": #"""
        apiVersion: v1
        data:
          lock: '{"fencingCounter":1,"leases":{},"lockType":"mutex","name":"lock-g4b"}'
        kind: ConfigMap
        metadata:
          annotations:
            reserved/by: go-g4b
            reserved/expires: "2026-12-01T00:40:34+01:00"
          labels:
            lockheed/lock: lock-g4b
          name: lockheed-lock-g4b
          namespace: default
        """#,
    ]
}
