import Synchronization

/// Runs `operation` in a task of its own and returns its result, or throws
/// ``LockheedError/timedOut(_:)`` at `deadline` without waiting for it: a backend call that
/// cannot be cancelled (a command already written, a blocking wait) is abandoned, cancelled
/// and its late result ignored. Cancelling the caller throws ``LockheedError/cancelled`` at once.
func abandoning<T: Sendable>(
    at deadline: ContinuousClock.Instant,
    _ what: String,
    _ operation: @escaping @Sendable () async throws(LockheedError) -> T
) async throws(LockheedError) -> T {
    let race = Race<T>()
    let result = await withTaskCancellationHandler {
        await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, LockheedError>, Never>) in
            race.start(continuation)
            let work = Task {
                do throws(LockheedError) {
                    race.finish(.success(try await operation()))
                } catch {
                    race.finish(.failure(error))
                }
            }
            let timer = Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                race.finish(.failure(.timedOut("\(what) did not finish in time; abandoned")))
            }
            race.attach(work: work, timer: timer)
        }
    } onCancel: {
        race.finish(.failure(.cancelled))
    }
    return try result.get()
}

/// The first of several outcomes resumes the continuation; the tasks of the others are cancelled.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<T, LockheedError>, Never>?
        var early: Result<T, LockheedError>?
        var tasks: [Task<Void, Never>] = []
        var done = false
    }
    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result<T, LockheedError>, Never>) {
        let early = state.withLock { state -> Result<T, LockheedError>? in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    func attach(work: Task<Void, Never>, timer: Task<Void, Never>) {
        let cancelNow = state.withLock { state in
            if state.done { return true }
            state.tasks = [work, timer]
            return false
        }
        if cancelNow {
            work.cancel()
            timer.cancel()
        }
    }

    func finish(_ result: Result<T, LockheedError>) {
        let (continuation, tasks) = state.withLock {
            state -> (CheckedContinuation<Result<T, LockheedError>, Never>?, [Task<Void, Never>]) in
            if state.done { return (nil, []) }
            state.done = true
            if state.continuation == nil { state.early = result }
            defer {
                state.continuation = nil
                state.tasks = []
            }
            return (state.continuation, state.tasks)
        }
        continuation?.resume(returning: result)
        for task in tasks { task.cancel() }
    }
}
