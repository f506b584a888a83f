// A contender process for the multi-process contention test:
// RedisContender PORT KEY_PREFIX LOCK_NAME TOTAL_MS HOLD_MS HISTORY_PATH
import Foundation
import LockheedConformance
import LockheedCore
import LockheedRedis

let arguments = CommandLine.arguments
guard arguments.count == 7, let port = Int(arguments[1]), let total = Int(arguments[4]), let hold = Int(arguments[5])
else {
    print("usage: RedisContender PORT KEY_PREFIX LOCK_NAME TOTAL_MS HOLD_MS HISTORY_PATH")
    exit(2)
}
let locker = try RedisLocker(configuration: RedisConfiguration(port: port, keyPrefix: arguments[2]))
let sections = try await Contention.runContender(
    locker: locker, name: try LockName(arguments[3]), for: .milliseconds(total), holdFor: .milliseconds(hold),
    historyPath: arguments[6])
await locker.shutdown()
print("sections: \(sections)")
