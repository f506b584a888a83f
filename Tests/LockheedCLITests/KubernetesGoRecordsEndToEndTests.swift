import Foundation
import KubernetesAPIDouble
import LockheedConformance
import Testing

/// `lockheed show` and `list` on locks the Go original wrote: its reservation and a long name.
@Suite(.serialized, .loadsMachine) struct KubernetesGoRecordsEndToEndTests {
    private let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    private func backend(_ server: KubernetesAPIServerDouble) throws -> [String] {
        let path = try directory.writeKubeconfig(server: server.baseURL)
        return ["--backend", "kubernetes://go-fleet?kubeconfig=\(path)"]
    }

    private static func goObject(name: String, lock: String, annotations: [String: String] = [:]) throws -> Data {
        try JSONSerialization.data(withJSONObject: [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": [
                "name": "lockheed-\(name)", "namespace": "go-fleet", "labels": ["lockheed/lock": ""],
                "annotations": annotations,
            ],
            "data": ["lock": lock],
        ])
    }

    @Test func aGoReservationIsShownAsAReservationAndALongGoNameIsAddressable() async throws {
        let server = try await KubernetesAPIServerDouble.start()
        defer { Task { try? await server.shutdown() } }
        server.createNamespace("go-fleet")
        let until = Date().addingTimeInterval(120).ISO8601Format()
        try server.seedConfigMap(
            namespace: "go-fleet",
            json: Self.goObject(
                name: "lock-e3", lock: #"{"fencingCounter":1,"leases":{},"lockType":"mutex","name":"lock-e3"}"#,
                annotations: ["reserved/by": "go-e3", "reserved/expires": until]))
        let long = String(repeating: "x", count: 80)
        let expires = Date().addingTimeInterval(600).ISO8601Format()
        try server.seedConfigMap(
            namespace: "go-fleet",
            json: Self.goObject(
                name: long,
                lock:
                    #"{"name":"\#(long)","lockType":"mutex","leases":{"go-1":{"instanceID":"go-1","expires":"\#(expires)"}}}"#
            ))
        let backend = try backend(server)

        let show = try await CLIProcess.run(["show", "lock-e3"] + backend, in: directory.url)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("reserved:        by go-e3 until"), "\(show.stdout)")
        #expect(!show.stdout.contains("lease:"), "a reservation is not a lease: \(show.stdout)")

        let list = try await CLIProcess.run(["list"] + backend, in: directory.url)
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout.contains("reserved by go-e3"), "\(list.stdout)")
        #expect(list.stdout.contains(long) && list.stdout.contains("go-1"), "\(list.stdout)")

        let refused = try await CLIProcess.run(
            ["exec", "--no-wait"] + backend + ["lock-e3", "--", "true"], in: directory.url)
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(refused.stderr.contains("a reservation by go-e3"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("token 0"), "\(refused.stderr)")

        let showLong = try await CLIProcess.run(["show", long] + backend, in: directory.url)
        #expect(showLong.status == 0, "\(showLong.stderr)")
        #expect(
            showLong.stdout.contains("go-1") && showLong.stdout.contains("acquired at:   unknown"), "\(showLong.stdout)"
        )
        let broken = try await CLIProcess.run(["break", "--yes", long] + backend, in: directory.url)
        #expect(broken.status == 0, "\(broken.stderr)")
    }
}
