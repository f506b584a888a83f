// A contender process for the multi-process contention test:
// PostgresContender PORT SCHEMA LOCK_NAME TOTAL_MS HOLD_MS HISTORY_PATH
import Foundation
import LockheedConformance
import LockheedCore
import LockheedPostgres

let arguments = CommandLine.arguments
guard arguments.count == 7, let port = Int(arguments[1]), let total = Int(arguments[4]), let hold = Int(arguments[5])
else {
    print("usage: PostgresContender PORT SCHEMA LOCK_NAME TOTAL_MS HOLD_MS HISTORY_PATH")
    exit(2)
}
let locker = try PostgresLocker(configuration: PostgresConfiguration(port: port, schema: arguments[2]))
let sections = try await Contention.runContender(
    locker: locker, name: try LockName(arguments[3]), for: .milliseconds(total), holdFor: .milliseconds(hold),
    historyPath: arguments[6])
await locker.shutdown()
print("sections: \(sections)")
