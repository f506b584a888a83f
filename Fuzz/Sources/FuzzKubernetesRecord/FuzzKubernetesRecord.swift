import Foundation
import FuzzDriver
import LockheedCore

/// Kubernetes lock records: a ConfigMap or a Lease as the API returns it (or only a ConfigMap's
/// `data["lock"]` text) never crashes the reader. A record that decodes encodes to text that decodes to the same
/// record and encodes the same; its state is judged for expiry, its Go reservation annotations
/// read, and the record we would write back for that state decodes again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKubernetesRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    fuzzLease(bytes, now: now)
    let text: String
    if let object = ConfigMapObject(json: bytes), object.data != nil || object.metadata != ObjectMeta() {
        _ = object.activeReservation(at: now)
        _ = object.labels
        guard let lock = object.lockText else { return 0 }
        text = lock
    } else {
        text = String(decoding: bytes, as: UTF8.self)
    }
    guard let name = try? LockName("fuzz.lock") else { fatalError("fixed lock name rejected") }
    let record: LockRecord
    do { record = try LockRecord.decode(text, name: name) } catch {
        guard error.code == .malformedState else { fatalError("untyped record error \(error)") }
        return 0
    }
    let encoded = record.encoded()
    do {
        let decoded = try LockRecord.decode(encoded, name: name)
        guard decoded == record, decoded.encoded() == encoded else {
            fatalError("record round trip changed \(encoded)")
        }
    } catch {
        fatalError("our own encoding \(encoded) does not decode: \(error)")
    }
    let expiry = LeaseExpiry(clockIdentity: "fuzz-host")
    let state = expiry.state(of: record, name: name, now: now, instant: .now)
    _ = state.activeLeases(at: now)
    let (written, _) = expiry.record(for: state, original: record, changedHolder: nil, duration: nil)
    do { _ = try LockRecord.decode(written.encoded(), name: name) } catch {
        fatalError("the record written back for \(encoded) does not decode: \(error)")
    }
    return 0
}

/// A Lease as the API returns it: its record reads or fails with `.malformedState` only; the
/// Lease we write back for that record reads again with the same holders.
func fuzzLease(_ bytes: Data, now: Date) {
    guard var lease = LeaseObject(json: bytes), lease.spec != nil || lease.metadata != ObjectMeta() else { return }
    guard let name = try? LockName("fuzz.lock") else { fatalError("fixed lock name rejected") }
    let record: LockRecord
    do {
        guard let read = try lease.lockRecord(name: name) else { fatalError("a Lease always holds a record") }
        record = read
    } catch {
        guard error.code == .malformedState else { fatalError("untyped Lease error \(error)") }
        return
    }
    lease.setLock(record, lockName: name, now: now)
    guard let written = LeaseObject(json: lease.json()) else { fatalError("our Lease JSON does not decode") }
    do {
        let again = try written.lockRecord(name: name)
        guard Set(again?.leases.keys.map { $0 } ?? []) == Set(record.leases.keys) else {
            fatalError("the Lease written back changed its holder")
        }
    } catch {
        fatalError("the Lease written back does not read: \(error)")
    }
}

/// The entry point SwiftPM links `main` to: hands the command line to libFuzzer.
@_cdecl("FuzzKubernetesRecord_main")
public func fuzzKubernetesRecordMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt
{
    lockheed_fuzz_main(argc, argv, fuzzKubernetesRecord)
}
