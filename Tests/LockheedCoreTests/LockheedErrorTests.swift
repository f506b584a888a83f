import Foundation
import LockheedCore
import Testing

@Suite("LockheedError")
struct LockheedErrorTests {
    let name = try! LockName("job")

    @Test("each error has its code, its details and the message people read")
    func codesDetailsAndDescriptions() throws {
        let lease = Lease(holder: "a", acquiredAt: Date(timeIntervalSince1970: 0), expiresAt: nil, fencingToken: 7)
        let cases: [(LockheedError, LockheedError.Code, String)] = [
            (.invalidName("Bad", reason: "uppercase"), .invalidName, "invalid lock name \"Bad\": uppercase"),
            (.invalidTag("t,", reason: "comma"), .invalidTag, "invalid tag \"t,\": comma"),
            (.invalidHolder("", reason: "empty"), .invalidHolder, "invalid holder id \"\": empty"),
            (.invalidConfiguration("x"), .invalidConfiguration, "invalid configuration: x"),
            (.invalidCondition("column 3: y"), .invalidCondition, "invalid condition: column 3: y"),
            (.typeMismatch(name, existing: .mutex, requested: .shared(maxHolders: 2)), .typeMismatch, ""),
            (.lost(name, holder: "a"), .lost, "lease of \"a\" on lock \"job\" was lost"),
            (.notHeld(name), .notHeld, "lock \"job\" is not held by this handle"),
            (
                .malformedState(name, detail: "bad json"), .malformedState,
                "stored state of lock \"job\" is malformed: bad json"
            ),
            (.unavailable("refused"), .unavailable, "backend unavailable: refused"),
            (.unauthorized("no"), .unauthorized, "unauthorized: no"),
            (.forbidden("get leases"), .forbidden, "forbidden: get leases"),
            (.incompatibleStorage("format 9"), .incompatibleStorage, "incompatible storage: format 9"),
            (.timedOut("2 s"), .timedOut, "timed out: 2 s"),
            (.cancelled, .cancelled, "cancelled"),
            (.backend("boom"), .backend, "backend error: boom"),
        ]
        for (error, code, text) in cases {
            #expect(error.code == code)
            if !text.isEmpty { #expect(error.description == text) }
        }
        let held = LockheedError.held(name, holders: [lease])
        #expect(held.code == .held && held.lock == name && held.holders == [lease])
        #expect(held.description.hasPrefix("lock \"job\" is held by a"))
        let mismatch = LockheedError.typeMismatch(name, existing: .mutex, requested: .shared(maxHolders: 2))
        #expect(mismatch.existingType == .mutex && mismatch.requestedType == .shared(maxHolders: 2))
        #expect(LockheedError.lost(name, holder: "a").holder == "a")
        #expect(LockheedError.invalidTag("t,", reason: "comma").input == "t,")
        #expect(LockheedError.Code.held.description == "held")
    }

    @Test("one retry rule: busy locks and failing backends are transient, nothing else")
    func oneRetryRule() {
        let transient: [LockheedError] = [
            .held(name, holders: []), .typeMismatch(name, existing: .mutex, requested: .shared(maxHolders: 2)),
            .unavailable("x"), .timedOut("x"),
        ]
        let final: [LockheedError] = [
            .invalidName("X", reason: "r"), .invalidConfiguration("x"), .lost(name, holder: "a"), .notHeld(name),
            .malformedState(name, detail: "d"), .unauthorized("x"), .forbidden("x"), .incompatibleStorage("x"),
            .cancelled, .backend("x"),
        ]
        #expect(transient.allSatisfy { $0.isTransient })
        #expect(!final.contains { $0.isTransient })
        #expect([LockheedError.unavailable("x"), .timedOut("x")].allSatisfy { $0.isBackendFailure })
        #expect(!LockheedError.held(name, holders: []).isBackendFailure)
    }

    @Test("errors are values: equal when code and details are, and usable in catch clauses by code")
    func valuesAndCatching() async {
        #expect(LockheedError.lost(name, holder: "a") == .lost(name, holder: "a"))
        #expect(LockheedError.lost(name, holder: "a") != .lost(name, holder: "b"))
        func fail() throws(LockheedError) { throw .held(name, holders: []) }
        do {
            try fail()
            Issue.record("did not throw")
        } catch  where error.code == .held {
            #expect(error.lock == name)
        } catch {
            Issue.record("wrong code \(error.code)")
        }
    }
}
