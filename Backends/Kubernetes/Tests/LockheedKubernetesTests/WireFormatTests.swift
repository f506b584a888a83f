import Foundation
import LockheedCore
import Testing

@testable import LockheedKubernetes

@Suite("wire format (Go compatible)")
struct WireFormatTests {
    @Test(arguments: [
        ("2022-12-05T10:00:00Z", 1_670_234_400.0),
        ("2022-12-05T10:00:00.5Z", 1_670_234_400.5),
        ("2022-12-05T11:00:00.123456789+01:00", 1_670_234_400.123456789),
        ("2022-12-05T05:30:00-04:30", 1_670_234_400.0),
        ("1970-01-01T00:00:00Z", 0.0),
        ("2024-02-29T23:59:59.000001Z", 1_709_251_199.000001),
    ])
    func parsesGoTimestamps(_ text: String, _ seconds: Double) throws {
        let date = try #require(RFC3339.parse(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_001)
    }

    @Test(arguments: ["", "2022-12-05", "2022-12-05T10:00:00", "2022-13-05T10:00:00Z", "2022-12-05T10:00:00.Z", "x"])
    func rejectsMalformedTimestamps(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatsRoundTripAndInfinite() throws {
        let date = Date(timeIntervalSince1970: 1_764_102_600.123456)
        let text = RFC3339.format(date)
        #expect(text == "2025-11-25T20:30:00.123456Z")
        #expect(abs(try #require(RFC3339.parse(text)).timeIntervalSince(date)) < 0.000_001)
        #expect(RFC3339.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000Z")
        // Out of RFC 3339's four-digit years: the nearest end, never a trap or a malformed year.
        #expect(RFC3339.format(Date(timeIntervalSince1970: 1e15)) == "9999-12-31T23:59:59.999999Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -1e15)) == "0001-01-01T00:00:00.000000Z")
        #expect(RFC3339.format(.distantFuture).hasPrefix("4001-01-01T00:00:00"))
        #expect(RFC3339.isInfinite(try #require(RFC3339.parse(RFC3339.infinite))))
        #expect(!RFC3339.isInfinite(date))
    }

    /// What Go's `json.Marshal(lock)` writes for a held lock (Options.Tags inlined, `omitempty`).
    static let goRecord = """
        {"name":"nightly","lockType":"mutex","leases":{"go-pod-1":{"instanceID":"go-pod-1","expires":"2030-01-02T03:04:05.123456789+02:00"}},"tags":["db","nightly"]}
        """

    /// A `Date` counts seconds from 2001 in a Double, so it holds every microsecond only within
    /// 2^32 s of 2001 (1865 to 2137): there, formatting what was parsed gives the same text again.
    @Test(arguments: [
        "1866-01-01T00:00:00.22222222888888888888888888888990Z", "1901-12-13T20:45:52.999999Z",
        "2026-12-01T05:30:00.123456789+01:00", "2106-02-07T06:28:15.000001Z", "2137-01-01T00:00:00.999999Z",
    ])
    func formattingWhatWasParsedIsStable(_ text: String) throws {
        let formatted = RFC3339.format(try #require(RFC3339.parse(text)))
        #expect(RFC3339.format(try #require(RFC3339.parse(formatted))) == formatted)
    }

    @Test func decodesTheGoRecord() throws {
        let record = try LockRecord.decode(Self.goRecord, name: LockName("nightly"))
        #expect(record.name == "nightly")
        #expect(record.lockType == "mutex")
        #expect(record.tags == ["db", "nightly"])
        let lease = try #require(record.leases["go-pod-1"])
        #expect(lease.instanceID == "go-pod-1")
        #expect(lease.fencingToken == nil && lease.durationMs == nil && lease.clock == nil)
        let expiry = LeaseExpiry(clockIdentity: "ours")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let state = expiry.state(of: record, name: try LockName("nightly"), now: now, instant: .now)
        #expect(state.type == .mutex)
        #expect(state.leases.map(\.holder) == ["go-pod-1"])
        #expect(state.leases.first?.expiresAt == RFC3339.parse("2030-01-02T01:04:05.123456789Z"))
        #expect(state.tags == ["db", "nightly"])
    }

    @Test func encodesGoFieldNamesPlusAdditiveOnes() throws {
        let name = try LockName("job")
        var state = LockState(name: name)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let request = try AcquireRequest(name: name, holder: "swift-1", duration: .seconds(30), tags: ["t"])
        try state.acquire(request, now: now)
        let expiry = LeaseExpiry(clockIdentity: "clock-a")
        let (record, stamped) = expiry.record(
            for: state, original: nil, changedHolder: "swift-1", duration: .seconds(30))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(record.encoded().utf8)) as? [String: Any])
        #expect(json["name"] as? String == "job")
        #expect(json["lockType"] as? String == "mutex")
        #expect(json["tags"] as? [String] == ["t"])
        #expect(json["fencingCounter"] as? Int == 1)
        let lease = try #require((json["leases"] as? [String: Any])?["swift-1"] as? [String: Any])
        #expect(lease["instanceID"] as? String == "swift-1")
        #expect(lease["expires"] as? String == "2027-01-15T08:00:30.000000Z")
        #expect(lease["fencingToken"] as? Int == 1)
        #expect(lease["durationMs"] as? Int == 30_000)
        #expect(lease["clock"] as? String == "clock-a")
        #expect(stamped?.expiresAt == now.addingTimeInterval(30))
    }

    @Test func infiniteLeaseUsesGoSentinel() throws {
        let name = try LockName("forever")
        var state = LockState(name: name)
        try state.acquire(AcquireRequest(name: name, holder: "h", duration: nil), now: Date())
        let (record, stamped) = LeaseExpiry(clockIdentity: "c").record(
            for: state, original: nil, changedHolder: "h", duration: nil)
        #expect(record.leases["h"]?.expires == "9999-12-31T23:59:59Z")
        #expect(record.leases["h"]?.durationMs == nil)
        #expect(stamped?.expiresAt == nil)
        let back = LeaseExpiry(clockIdentity: "other").state(of: record, name: name, now: Date(), instant: .now)
        #expect(back.leases.first?.expiresAt == nil)
    }

    @Test func otherWritersLeasesAreCopiedVerbatim() throws {
        let name = try LockName("shared")
        let original = LockRecord(
            name: "shared", lockType: "shared",
            leases: [
                "remote": .init(
                    instanceID: "remote", expires: "2099-01-01T00:00:00.987654321+05:00", acquired: nil,
                    fencingToken: 4, durationMs: 60_000, clock: "far-away")
            ], tags: nil, fencingCounter: 4, maxLeases: 3)
        let expiry = LeaseExpiry(clockIdentity: "here")
        var state = expiry.state(of: original, name: name, now: Date(), instant: .now)
        try state.acquire(
            AcquireRequest(name: name, holder: "local", type: .shared(maxHolders: 3), duration: .seconds(10)),
            now: Date())
        let (record, _) = expiry.record(for: state, original: original, changedHolder: "local", duration: .seconds(10))
        #expect(record.leases["remote"] == original.leases["remote"])
        #expect(record.leases["local"]?.fencingToken == 5)
        #expect(record.maxLeases == 3 && record.lockType == "shared")
    }

    @Test(arguments: [
        "not json", "{}", #"{"name":"x","lockType":"rwlock","leases":{}}"#,
        #"{"name":"x","lockType":"mutex","leases":{"a":{"instanceID":"a","expires":"yesterday"}}}"#,
        #"{"name":"x","lockType":"shared","leases":{}}"#,
    ])
    func malformedRecordsAreTypedErrors(_ text: String) throws {
        let name = try LockName("x")
        let error = #expect(throws: LockheedError.self) { try LockRecord.decode(text, name: name) }
        let which = error?.lock
        guard error?.code == .malformedState else {
            Issue.record("expected malformedState, got \(String(describing: error))")
            return
        }
        #expect(which == name)
    }

    @Test func apiErrorsMapToTypedErrors() {
        func status(_ code: Int, reason: String, kind: String = "configmaps", message: String = "m") -> APIResponse {
            let body = """
                {"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"\(message)","reason":"\(reason)","details":{"name":"x","kind":"\(kind)"},"code":\(code)}
                """
            return APIResponse(status: code, body: Data(body.utf8))
        }
        func map(_ response: APIResponse) -> LockheedError {
            response.error(verb: "update", resource: "configmaps/lockheed-x", namespace: "ns")
        }
        guard map(status(401, reason: "Unauthorized")).code == .unauthorized else {
            Issue.record("401")
            return
        }
        let messageError = map(status(403, reason: "Forbidden", message: "cannot update"))
        let message = messageError.message
        guard messageError.code == .forbidden else {
            Issue.record("403")
            return
        }
        #expect(message.contains("\"update\"") && message.contains("configmaps") && message.contains("cannot update"))
        let missingError = map(status(404, reason: "NotFound", kind: "namespaces"))
        let missing = missingError.message
        guard missingError.code == .invalidConfiguration else {
            Issue.record("404 namespace")
            return
        }
        #expect(missing.contains("namespace \"ns\" does not exist"))
        guard map(status(422, reason: "Invalid")).code == .invalidConfiguration else {
            Issue.record("422")
            return
        }
        guard map(status(503, reason: "ServiceUnavailable")).code == .unavailable else {
            Issue.record("503")
            return
        }
        guard map(status(400, reason: "BadRequest")).code == .backend else {
            Issue.record("400")
            return
        }
    }
}
