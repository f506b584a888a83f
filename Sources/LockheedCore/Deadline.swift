/// Runs `operation`, cancelling it and throwing ``LockheedError/timedOut(_:)`` when it takes
/// longer than `timeout`.
func withTimeout<T: Sendable>(
    _ timeout: Duration,
    _ what: String,
    _ operation: @escaping @Sendable () async throws(LockheedError) -> T
) async throws(LockheedError) -> T {
    let result: Result<T, LockheedError>? = await withTaskGroup(of: Result<T, LockheedError>?.self) { group in
        group.addTask {
            do throws(LockheedError) { return .success(try await operation()) } catch { return .failure(error) }
        }
        group.addTask {
            do { try await Task.sleep(for: timeout) } catch { return .failure(.cancelled) }
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
    switch result {
    case .success(let value): return value
    case .failure(let error): throw error
    case nil: throw .timedOut("\(what) did not finish within \(timeout)")
    }
}
