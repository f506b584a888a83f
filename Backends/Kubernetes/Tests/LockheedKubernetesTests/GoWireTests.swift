import Foundation
import KubernetesAPIDouble
import LockheedCore
import Testing
import Yams

@testable import LockheedKubernetes

/// What one golden record of the Go original must read as.
struct GoldenRecord: Sendable, CustomTestStringConvertible {
    /// The file in ``GoWireRecords``.
    var file: String
    /// The lock's name (the ConfigMap name without `lockheed-`).
    var lock: String
    var tags: [String] = []
    /// The holder whose lease was active when the record was taken, and its expiry (`nil`: never).
    var holder: String?
    var expires: String?
    /// The record's own `fencingCounter` (ours, when we wrote it last).
    var counter: UInt64 = 0
    /// The Go reservation in the annotations: holder and until.
    var reservedBy: String?
    var reservedUntil: String?

    var testDescription: String { file }

    /// An instant before every finite expiry in the records: what they held when taken.
    static let recordedAt = RFC3339.parse("2026-11-30T23:39:00Z")!

    static let all: [GoldenRecord] = [
        GoldenRecord(file: "go-created-not-acquired.yaml", lock: "fresh", tags: ["t1"]),
        GoldenRecord(file: "go-held-infinite.yaml", lock: "forever", holder: "go-forever", expires: nil),
        GoldenRecord(
            file: "go-held-mutex-with-tags.yaml", lock: "held", tags: ["team-go", "nightly"], holder: "go-holder-1",
            expires: "2026-11-30T23:43:53.682534774Z"),
        GoldenRecord(
            file: "go-held-offset-time.yaml", lock: "prague", holder: "go-prague",
            expires: "2026-11-30T23:43:59.500010989Z"),
        GoldenRecord(file: "go-released.yaml", lock: "rel"),
        GoldenRecord(
            file: "go-reservation-left-after-forced-loss.yaml", lock: "lock-e3", counter: 1, reservedBy: "go-e3",
            reservedUntil: "2026-11-30T23:39:48Z"),
        GoldenRecord(
            file: "go-reservation-offset-time.yaml", lock: "lock-g4b", counter: 1, reservedBy: "go-g4b",
            reservedUntil: "2026-11-30T23:40:34Z"),
    ]

    /// The ConfigMap as the API server's JSON, moved to `namespace`.
    func object(namespace: String) throws -> [String: Any] {
        let yaml = try #require(GoWireRecords.all[file])
        var object = try #require(try Yams.load(yaml: yaml) as? [String: Any])
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["namespace"] = namespace
        object["metadata"] = metadata
        return object
    }

    /// Whether the lease in the record is still active now (only the infinite one).
    var heldNow: Bool { holder != nil && expires == nil }
}

@Suite("the Go original's real records (golden files)")
struct GoWireTests {
    func setUp() async throws -> (KubernetesAPIServerDouble, String, KubernetesLocker) {
        let server = try await SharedDouble.get()
        let namespace = freshNamespace()
        server.createNamespace(namespace)
        return (
            server, namespace, try KubernetesLocker(configuration: doubleConfiguration(server, namespace: namespace))
        )
    }

    @Test(arguments: GoldenRecord.all)
    func isReadAsGoWroteIt(_ golden: GoldenRecord) throws {
        let object = try #require(
            ConfigMapObject(json: try JSONSerialization.data(withJSONObject: try golden.object(namespace: "default"))))
        let name = try LockName(golden.lock)
        let record = try #require(try object.lockRecord(name: name))
        let state = LeaseExpiry(clockIdentity: "ours").state(
            of: record, name: name, now: GoldenRecord.recordedAt, instant: .now)
        #expect(state.type == .mutex)
        #expect(state.tags == golden.tags)
        #expect(state.fencingCounter == golden.counter)
        let active = state.activeLeases(at: GoldenRecord.recordedAt)
        #expect(active.map(\.holder) == (golden.holder.map { [$0] } ?? []))
        if let lease = active.first {
            #expect(lease.expiresAt == golden.expires.flatMap(RFC3339.parse))
            #expect(lease.fencingToken == 0, "the Go original issues no tokens")
            #expect(lease.acquiredAt == .distantPast, "Go records no grant time: unknown, not the expiry")
        }
        let reservation = object.activeReservation(at: GoldenRecord.recordedAt)
        #expect(reservation?.holder == golden.reservedBy)
        #expect(reservation?.until == golden.reservedUntil.flatMap(RFC3339.parse))
    }

    @Test(arguments: GoldenRecord.all)
    func isListedShownAndAcquiredWhenFree(_ golden: GoldenRecord) async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        try server.seedConfigMap(
            namespace: namespace, json: try JSONSerialization.data(withJSONObject: golden.object(namespace: namespace)))
        let name = try LockName(golden.lock)

        let listed = try await locker.list()
        #expect(listed.map(\.name) == [name], "a Go lock (label value \"\") is listed")
        #expect(listed.first?.tags == golden.tags)
        let tagged = try await locker.list(matching: golden.tags.first.map { .tagsContain($0) })
        #expect(tagged.map(\.name) == [name])

        let shown = try #require(try await locker.state(of: name))
        #expect(shown.leases.map(\.holder) == (golden.heldNow ? [golden.holder!] : []))
        #expect(shown.reservation == nil, "every reservation in the records has ended by now")
        #expect(shown.type == .mutex)

        let request = try AcquireRequest(name: name, holder: "swift", duration: .seconds(30), tags: ["ours"])
        guard !golden.heldNow else {
            let error = await #expect(throws: LockheedError.self) { try await locker.acquire(request) }
            let holders = error?.holders ?? []
            guard error?.code == .held else {
                Issue.record("expected held, got \(String(describing: error))")
                return
            }
            #expect(holders.map(\.holder) == [golden.holder!])
            return
        }
        let lease = try await locker.acquire(request)
        #expect(lease.fencingToken > golden.counter)
        let stored = try #require(server.configMap(namespace: namespace, name: "lockheed-\(golden.lock)"))
        let object = ConfigMapObject(json: stored)
        let text = try #require(object?.lockText)
        let go = try GoClient.decode(text)
        #expect(go.lockType == "mutex" && go.name == golden.lock)
        #expect(go.leases?.keys.sorted() == ["swift"], "Go reads our lease")
        #expect(go.tags == golden.tags + ["ours"])
        #expect(object?.labels["lockheed/lock"] == golden.lock)
        #expect(try await locker.release(name, holder: "swift"))
    }

    @Test func aLiveGoReservationIsShownAndListedAsAReservationNotALease() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        let golden = GoldenRecord.all.first { $0.file == "go-reservation-left-after-forced-loss.yaml" }!
        var object = try golden.object(namespace: namespace)
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        let until = Date().addingTimeInterval(60)
        metadata["annotations"] = ["reserved/by": "go-e3", "reserved/expires": RFC3339.format(until)]
        object["metadata"] = metadata
        try server.seedConfigMap(namespace: namespace, json: try JSONSerialization.data(withJSONObject: object))
        let name = try LockName("lock-e3")

        let shown = try #require(try await locker.state(of: name))
        #expect(shown.leases.isEmpty, "a reservation is not a lease")
        #expect(shown.reservation?.holder == "go-e3")
        #expect(abs((shown.reservation?.until ?? .distantPast).timeIntervalSince(until)) < 0.001)
        #expect(try await locker.list().first?.reservation?.holder == "go-e3")

        let error = await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(5)))
        }
        let holders = error?.holders ?? []
        guard error?.code == .held else {
            Issue.record("a live reservation refuses as busy, got \(String(describing: error))")
            return
        }
        let reservation = holders.first.flatMap(LockReservation.init(representedBy:))
        #expect(reservation?.holder == "go-e3", "the refusal says it is a reservation")
        // Go itself may take its own reservation's lock.
        _ = try await locker.acquire(AcquireRequest(name: name, holder: "go-e3", duration: .seconds(5)))
    }

    @Test func aLockUsedAsSharedIsWrittenBackAsAMutexWhenItsLastLeaseLeaves() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        let name = try LockName("was-shared")
        for holder in ["s1", "s2"] {
            _ = try await locker.acquire(
                AcquireRequest(name: name, holder: holder, type: .shared(maxHolders: 2), duration: .seconds(30)))
        }
        #expect(try await locker.release(name, holder: "s1"))
        var stored = try #require(server.configMap(namespace: namespace, name: "lockheed-was-shared"))
        #expect(try GoClient.decode(try #require(ConfigMapObject(json: stored)?.lockText)).lockType == "shared")
        _ = try await locker.breakLock(name, if: nil)
        stored = try #require(server.configMap(namespace: namespace, name: "lockheed-was-shared"))
        let record = try #require(ConfigMapObject(json: stored)?.lockText)
        #expect(try GoClient.decode(record).lockType == "mutex", "the Go original can take it again: \(record)")
        #expect(!record.contains("maxLeases"))
    }

    @Test func aGoLockWithALongNameIsListedShownAndBrokenButNotAcquired() async throws {
        let (server, namespace, locker) = try await setUp()
        defer { Task { await locker.shutdown() } }
        let long = String(repeating: "a", count: 100) + ".example-" + String(repeating: "b", count: 40)
        let expires = RFC3339.format(Date().addingTimeInterval(600))
        let object: [String: Any] = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": ["name": "lockheed-\(long)", "namespace": namespace, "labels": ["lockheed/lock": ""]],
            "data": [
                "lock":
                    #"{"name":"\#(long)","lockType":"mutex","leases":{"go":{"instanceID":"go","expires":"\#(expires)"}}}"#
            ],
        ]
        try server.seedConfigMap(namespace: namespace, json: try JSONSerialization.data(withJSONObject: object))
        let name = try LockName.stored(long)
        #expect(throws: LockheedError.self) { try LockName(long) }

        #expect(try await locker.list().map(\.name) == [name])
        #expect(try await locker.state(of: name)?.leases.map(\.holder) == ["go"])
        let error = await #expect(throws: LockheedError.self) {
            try await locker.acquire(AcquireRequest(name: name, holder: "swift", duration: .seconds(5)))
        }
        guard error?.code == .invalidName else {
            Issue.record("our acquires keep the 63-character rule, got \(String(describing: error))")
            return
        }
        #expect(try await locker.breakLock(name, if: nil).map(\.holder) == ["go"])
        let stored = try #require(server.configMap(namespace: namespace, name: "lockheed-\(long)"))
        #expect(ConfigMapObject(json: stored)?.labels["lockheed/lock"] == "", "a label value holds 63 characters")
    }

    @Test func listingSaysWhyItSkipsAConfigMap() async throws {
        let (server, namespace, _) = try await setUp()
        let lines = LogLines()
        let locker = try KubernetesLocker(
            configuration: doubleConfiguration(server, namespace: namespace), logger: lines.logger())
        defer { Task { await locker.shutdown() } }
        for (objectName, lock) in [
            ("other-x", #"{"name":"x","lockType":"mutex","leases":{}}"#),
            ("lockheed-bad", "{not json"),
            ("lockheed-good", #"{"name":"good","lockType":"mutex","leases":{}}"#),
        ] {
            let object: [String: Any] = [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": ["name": objectName, "namespace": namespace, "labels": ["lockheed/lock": ""]],
                "data": ["lock": lock],
            ]
            try server.seedConfigMap(namespace: namespace, json: try JSONSerialization.data(withJSONObject: object))
        }
        #expect(try await locker.list().map(\.name.rawValue) == ["good"])
        let logged = lines.all.joined(separator: "\n")
        #expect(logged.contains("other-x") && logged.contains("prefix"), "\(logged)")
        #expect(logged.contains("bad") && logged.contains("malformed"), "\(logged)")
    }
}
