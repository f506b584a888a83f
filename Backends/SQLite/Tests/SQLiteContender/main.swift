// A helper process for the SQLite backend's multi-process tests.
//
//   SQLiteContender contend DB LOCK SECONDS HISTORY
//       acquire/hold 5 ms/release LOCK in a loop for SECONDS, appending sections to HISTORY.
//   SQLiteContender hold DB LOCK LEASE_MS MARKER
//       acquire LOCK with a LEASE_MS lease renewed every 20 ms, write "TOKEN" to MARKER, then
//       keep renewing until killed.
//   SQLiteContender acquire DB LOCK WAIT_SECONDS RESULT
//       wait up to WAIT_SECONDS for LOCK, write "TOKEN ACQUIRED_AT_MICROS" to RESULT, release.
//   SQLiteContender readonly DB LOCK 0 RESULT
//       write the listed lock names (line 1) and the outcome of acquiring LOCK (line 2) to RESULT;
//       for a process that cannot write the database (run as another user).

import Foundation
import LockheedConformance
import LockheedCore
import LockheedSQLite

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("SQLiteContender: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 5, let number = Int(arguments[3]) else {
    fail("usage: SQLiteContender contend|hold|acquire DB LOCK NUMBER PATH")
}
let (mode, path, output) = (arguments[0], arguments[1], arguments[4])

/// Lists, then tries a write, reporting both (or the failure to open) in `output`.
func readOnlyCheck(path: String, name: String, output: String) async throws {
    let locker: SQLiteLocker
    do {
        locker = try SQLiteLocker(path: path)
    } catch {
        try "open failed\n\(error)\n".write(toFile: output, atomically: true, encoding: .utf8)
        return
    }
    let names = try await locker.list().map(\.name.rawValue).joined(separator: ",")
    let outcome: String
    do {
        let request = try AcquireRequest(name: try LockName(name), holder: "reader", duration: .seconds(5))
        outcome = "acquired \(try await locker.acquire(request))"
    } catch {
        outcome = "\(error)"
    }
    try "\(names)\n\(outcome)\n".write(toFile: output, atomically: true, encoding: .utf8)
    await locker.shutdown()
}

do {
    if mode == "readonly" {
        try await readOnlyCheck(path: path, name: arguments[2], output: output)
        exit(0)
    }
    let locker = try SQLiteLocker(path: path)
    let name = try LockName(arguments[2])
    switch mode {
    case "contend":
        try await Contention.runContender(
            locker: locker, name: name, for: .seconds(number), holdFor: .milliseconds(5),
            historyPath: output)
    case "hold":
        let lock = try Lock(name, locker: locker, holder: "holder-\(getpid())")
            .duration(.milliseconds(number)).renewInterval(.milliseconds(20))
        let lease = try await lock.acquire()
        try "\(lease.fencingToken)\n".write(toFile: output, atomically: true, encoding: .utf8)
        while true { try await Task.sleep(for: .seconds(60)) }
    case "acquire":
        let lock = try Lock(name, locker: locker, holder: "holder-\(getpid())")
            .duration(.seconds(30)).keepAlive(false)
            .retry(
                RetryPolicy(
                    maxAttempts: nil, initialDelay: .milliseconds(10), maxDelay: .milliseconds(20),
                    deadline: .seconds(number)))
        let lease = try await lock.acquire()
        let micros = Int64((lease.acquiredAt.timeIntervalSince1970 * 1_000_000).rounded())
        try "\(lease.fencingToken) \(micros)\n".write(toFile: output, atomically: true, encoding: .utf8)
        try await lock.release()
    default:
        fail("unknown mode \(mode)")
    }
    await locker.shutdown()
} catch {
    fail("\(error)")
}
