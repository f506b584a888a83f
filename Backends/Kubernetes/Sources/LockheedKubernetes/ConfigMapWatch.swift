import AsyncHTTPClient
import Foundation
import LockheedCore
import NIOCore
import NIOHTTP1
import Synchronization

extension KubernetesLocker {
    /// Returns when the lock's ConfigMap changes (a watch on that one object, resumed from the
    /// last seen resourceVersion, re-listed after 410 Gone), when a lease in it reaches its expiry
    /// (expiry writes nothing, so no event would come), when this locker changes it, or after
    /// `timeout`; at once when this locker changed it after `since`. Polls every
    /// ``KubernetesConfiguration/pollInterval`` when watching fails.
    public func waitForChange(of name: LockName, since: ContinuousClock.Instant, timeout: Duration)
        async throws(LockheedError)
    {
        let start = ContinuousClock.now
        let until = nextExpiry(of: name).map { min(start + timeout, $0) } ?? start + timeout
        let remaining = until - ContinuousClock.now
        guard remaining > .zero else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.notifier.wait(for: name, since: since, timeout: remaining) }
            group.addTask { await self.watchForChange(of: name, until: until) }
            await group.next()
            group.cancelAll()
        }
        if Task.isCancelled { throw .cancelled }
    }

    /// When, on the monotonic clock, the first active lease (or the Go original's reservation) of
    /// the cached object expires.
    private func nextExpiry(of name: LockName) -> ContinuousClock.Instant? {
        guard let json = cache.withLock({ $0[name] }), let object = storage.decode(json) else { return nil }
        let now = Date()
        let instant = ContinuousClock.now
        let record = try? object.lockRecord(name: name)
        let state = record.map { expiry.state(of: $0, name: name, now: now, instant: instant) }
        var ends = state?.activeLeases(at: now).compactMap(\.expiresAt) ?? []
        if let until = object.activeReservation(at: now)?.until { ends.append(until) }
        let soonest = ends.min()
        // A little after the expiry, so the retried acquire sees it expired.
        return soonest.map { instant + .seconds($0.timeIntervalSince(now)) + .milliseconds(5) }
    }

    /// Watches until the object changes or `until`; falls back to polling when watches fail.
    private func watchForChange(of name: LockName, until: ContinuousClock.Instant) async {
        let fieldSelector = "metadata.name=\(configMapName(of: name))"
        var known = cache.withLock { $0[name] }.flatMap { storage.decode($0)?.metadata.resourceVersion }
        var from = known
        var failures = 0
        while ContinuousClock.now < until, !Task.isCancelled {
            if from == nil {
                // No version to resume from: list the one object to get the collection's version.
                guard let listed = try? await listOne(fieldSelector: fieldSelector, name: name) else {
                    failures += 1
                    if failures >= 2 { break }
                    continue
                }
                if known != nil, listed.objectVersion != known { return }
                known = listed.objectVersion
                from = listed.listVersion
            }
            switch await watchOnce(
                name: name, fieldSelector: fieldSelector, from: from ?? "", known: known, until: until)
            {
            case .changed: return
            case .resume(let version):
                from = version
                failures = 0
            case .gone:
                from = nil
            case .failed:
                failures += 1
                if failures >= 2 { break }
                try? await Task.sleep(for: .milliseconds(100))
            }
            if failures >= 2 { break }
        }
        await poll(name: name, known: known, until: until)
    }

    private enum WatchOutcome {
        case changed
        case resume(String)
        case gone
        case failed
    }

    private func watchOnce(
        name: LockName, fieldSelector: String, from: String, known: String?, until: ContinuousClock.Instant
    ) async -> WatchOutcome {
        let remaining = until - ContinuousClock.now
        let seconds = max(
            1, min(Int(remaining.components.seconds) + 1, Int(configuration.watchTimeout.components.seconds)))
        let query = [
            ("watch", "1"), ("fieldSelector", fieldSelector), ("resourceVersion", from),
            ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(seconds)),
        ]
        guard
            let response = try? await api.stream(
                path: collectionPath, query: query, deadline: remaining + .milliseconds(50))
        else { return .failed }
        if response.status.code == 410 { return .gone }
        guard response.status.code == 200 else { return .failed }
        var version = from
        var pending: [UInt8] = []
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Data(pending[..<newline])
                    pending.removeSubrange(...newline)
                    guard !line.isEmpty else { continue }
                    switch handle(event: line, name: name, known: known) {
                    case .changed: return .changed
                    case .gone: return .gone
                    case .resume(let newVersion): version = newVersion
                    case .failed: return .failed
                    }
                }
            }
        } catch {
            return ContinuousClock.now >= until ? .resume(version) : .failed
        }
        return .resume(version)
    }

    /// Interprets one watch event line.
    private func handle(event line: Data, name: LockName, known: String?) -> WatchOutcome {
        guard let event = KubernetesJSON.decode(WatchEvent.self, from: line) else { return .failed }
        let version = event.resourceVersion
        switch event.type {
        case "ADDED", "MODIFIED":
            if version == known { return .resume(version) }
            remember(name, json: KubernetesJSON.encode(event.object))
            return .changed
        case "DELETED":
            forget(name)
            return .changed
        case "BOOKMARK":
            return .resume(version)
        case "ERROR":
            return event.code == 410 ? .gone : .failed
        default:
            return .failed
        }
    }

    /// Lists the one object by field selector: its version and the list's.
    private func listOne(fieldSelector: String, name: LockName) async throws(LockheedError)
        -> (objectVersion: String?, listVersion: String)
    {
        let response = try await api.send(
            .GET, path: collectionPath, query: [("fieldSelector", fieldSelector)], verb: "list",
            resource: storage.resource)
        guard response.status == 200, let list = storage.decodeList(response.body),
            let listVersion = list.metadata.resourceVersion
        else { throw response.error(verb: "list", resource: storage.resource, namespace: configuration.namespace) }
        let item = list.items.first
        if let item { remember(name, json: item.json()) }
        return (item?.metadata.resourceVersion, listVersion)
    }

    /// The fallback: GET every poll interval until the version differs from `known` or `until`.
    private func poll(name: LockName, known: String?, until: ContinuousClock.Instant) async {
        while !Task.isCancelled {
            let remaining = until - ContinuousClock.now
            guard remaining > .zero else { return }
            try? await Task.sleep(for: min(remaining, configuration.pollInterval))
            guard ContinuousClock.now < until, !Task.isCancelled else { return }
            do {
                let object = try await fetch(name)
                if object?.metadata.resourceVersion != known { return }
            } catch {
                continue  // unreachable for now: keep waiting until the deadline
            }
        }
    }
}
