import LockheedCore
import Testing

let stressCases: [ConformanceCase] = [
    ConformanceCase("many concurrent contenders never overlap and tokens only rise") { fixture in
        let lockName = try name("stress")
        let recorder = ContentionHistory.Recorder()
        let contenders = 6
        let rounds = 4
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<contenders {
                let locker = try await fixture.makeLocker()
                group.addTask {
                    let lock = try Lock(lockName, locker: locker, holder: "contender-\(index)")
                        .duration(.seconds(10)).retry(.wait(upTo: .seconds(60)))
                    for _ in 0..<rounds {
                        try await lock.withLock { held in
                            await recorder.enter(token: held.fencingToken, holder: index)
                            try await Task.sleep(for: .milliseconds(5))
                            await recorder.exit(token: held.fencingToken, holder: index)
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let history = await recorder.history
        #expect(history.intervals.count == contenders * rounds)
        #expect(throws: Never.self) { try history.verify() }
    }
]
