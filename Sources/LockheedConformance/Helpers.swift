import Foundation
import LockheedCore
import Testing

/// Shorthand for a validated lock name in cases.
func name(_ raw: String) throws -> LockName { try LockName(raw) }

/// Shorthand for a validated acquire request.
func request(
    _ lock: LockName, _ holder: String, duration: Duration? = .seconds(30), type: LockType = .mutex,
    tags: [String] = [], resetTags: Bool = false, force: Condition? = nil
) throws -> AcquireRequest {
    try AcquireRequest(
        name: lock, holder: holder, type: type, duration: duration, tags: tags, resetTags: resetTags, force: force)
}

/// Runs `body`, requires it to throw a ``LockheedError`` and returns it (recording an issue
/// otherwise). For cases and backends' own tests.
public func lockheedError<T>(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T
) async throws -> LockheedError {
    do {
        _ = try await body()
    } catch let error as LockheedError {
        return error
    } catch {
        Issue.record("expected a LockheedError, got \(error)", sourceLocation: sourceLocation)
        throw error
    }
    Issue.record("expected an error, the call succeeded", sourceLocation: sourceLocation)
    throw ConformanceFailure("expected an error")
}

/// A failure that ends a case early.
struct ConformanceFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension LockheedError {
    var heldBy: [String] { code == .held ? holders.map(\.holder) : [] }
}

/// Two independent clients of the fixture's store, as two program instances.
func twoLockers(_ fixture: any ConformanceFixture) async throws -> (any Locker, any Locker) {
    (try await fixture.makeLocker(), try await fixture.makeLocker())
}

/// Waits until `condition` holds or `timeout` passes; returns whether it held. For cases and
/// backends' own tests.
public func eventually(
    within timeout: Duration = .seconds(5), every step: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: step)
    }
    return try await condition()
}

/// Thread-safe list of values collected by concurrent tasks.
actor Collector<Value: Sendable> {
    private(set) var values: [Value] = []
    func append(_ value: Value) { values.append(value) }
}
