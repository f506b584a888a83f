import LockheedConformance
import Synchronization
import Testing

/// Tests currently inside each kind of gated test below.
private let inside = Mutex((timeSensitive: 0, loadsMachine: 0))

/// Enters as one kind of test, checks who else is inside, stays a while, leaves.
private func occupy(timeSensitive: Bool) async throws {
    let others = inside.withLock { inside in
        defer {
            if timeSensitive { inside.timeSensitive += 1 } else { inside.loadsMachine += 1 }
        }
        return inside
    }
    if timeSensitive {
        #expect(others.timeSensitive == 0 && others.loadsMachine == 0, "beside \(others)")
    } else {
        #expect(others.timeSensitive == 0, "beside \(others)")
    }
    try await Task.sleep(for: .milliseconds(30))
    inside.withLock { inside in
        if timeSensitive { inside.timeSensitive -= 1 } else { inside.loadsMachine -= 1 }
    }
}

// Swift Testing runs these cases in parallel unless the gate keeps them apart: a time-sensitive
// case must find nobody inside, a machine-loading case no time-sensitive one.
@Suite("The test load gate")
struct TestLoadGateTests {
    @Test("time-sensitive cases run alone", .timeSensitive, arguments: 0..<6)
    func timeSensitive(_ index: Int) async throws { try await occupy(timeSensitive: true) }

    @Test("machine-loading cases never run beside a time-sensitive one", .loadsMachine, arguments: 0..<6)
    func loadsMachine(_ index: Int) async throws { try await occupy(timeSensitive: false) }
}
