import AsyncHTTPClient
import Foundation
import KubernetesAPIDouble
import LockheedConformance
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
import Testing

/// The API-server double against real HTTP requests: each test asserts the real API server's behaviour.
@Suite("Kubernetes API server double", .timeSensitive)
struct APIServerDoubleTests {
    // MARK: Objects, resourceVersions and Status bodies

    @Test func createReadReplaceDeleteWithResourceVersions() async throws {
        try await withDouble { server, api in
            server.createNamespace("ns1")
            let created = try await api.send(.POST, "/api/v1/namespaces/ns1/configmaps", configMap("lock-a"))
            #expect(created.status == 201)
            let version1 = try #require(created.resourceVersion)
            #expect(created.metadata["namespace"] as? String == "ns1")
            #expect((created.metadata["uid"] as? String)?.isEmpty == false)
            #expect(created.metadata["creationTimestamp"] is String)
            #expect(created.json["kind"] as? String == "ConfigMap")

            let read = try await api.send(.GET, "/api/v1/namespaces/ns1/configmaps/lock-a")
            #expect(read.status == 200)
            #expect(read.resourceVersion == version1)
            #expect((read.json["data"] as? [String: String])?["lock"] == "{}")

            let replaced = try await api.send(
                .PUT, "/api/v1/namespaces/ns1/configmaps/lock-a",
                configMap("lock-a", data: ["lock": "v2"], resourceVersion: version1))
            #expect(replaced.status == 200)
            let version2 = try #require(replaced.resourceVersion)
            #expect(UInt64(version2)! > UInt64(version1)!)
            #expect(replaced.metadata["uid"] as? String == created.metadata["uid"] as? String)

            let stale = try await api.send(
                .PUT, "/api/v1/namespaces/ns1/configmaps/lock-a",
                configMap("lock-a", data: ["lock": "v3"], resourceVersion: version1))
            try expectStatus(stale, code: 409, reason: "Conflict", name: "lock-a", kind: "configmaps")
            #expect(
                stale.json["message"] as? String
                    == "Operation cannot be fulfilled on configmaps \"lock-a\": the object has been modified; "
                    + "please apply your changes to the latest version and try again")

            let unchanged = try await api.send(
                .PUT, "/api/v1/namespaces/ns1/configmaps/lock-a",
                configMap("lock-a", data: ["lock": "v2"], resourceVersion: version2))
            #expect(unchanged.status == 200)
            #expect(unchanged.resourceVersion == version2, "a no-op update is not written")

            let duplicate = try await api.send(.POST, "/api/v1/namespaces/ns1/configmaps", configMap("lock-a"))
            try expectStatus(duplicate, code: 409, reason: "AlreadyExists", name: "lock-a", kind: "configmaps")
            #expect(duplicate.json["message"] as? String == "configmaps \"lock-a\" already exists")

            let deleted = try await api.send(.DELETE, "/api/v1/namespaces/ns1/configmaps/lock-a")
            #expect(deleted.status == 200)
            #expect(deleted.json["kind"] as? String == "Status")
            #expect(deleted.json["status"] as? String == "Success")

            let missing = try await api.send(.GET, "/api/v1/namespaces/ns1/configmaps/lock-a")
            try expectStatus(missing, code: 404, reason: "NotFound", name: "lock-a", kind: "configmaps")
            #expect(missing.json["message"] as? String == "configmaps \"lock-a\" not found")
            let missingPut = try await api.send(
                .PUT, "/api/v1/namespaces/ns1/configmaps/lock-a", configMap("lock-a", resourceVersion: version2))
            try expectStatus(missingPut, code: 404, reason: "NotFound", name: "lock-a", kind: "configmaps")
            let missingDelete = try await api.send(.DELETE, "/api/v1/namespaces/ns1/configmaps/lock-a")
            try expectStatus(missingDelete, code: 404, reason: "NotFound", name: "lock-a", kind: "configmaps")
        }
    }

    @Test func everyWriteBumpsTheGlobalResourceVersion() async throws {
        try await withDouble { server, api in
            var versions: [UInt64] = []
            for name in ["a", "b"] {
                let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap(name))
                versions.append(UInt64(try #require(created.resourceVersion))!)
            }
            let updated = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/a",
                configMap("a", data: ["lock": "x"], resourceVersion: String(versions[0])))
            versions.append(UInt64(try #require(updated.resourceVersion))!)
            server.mutateConfigMap(namespace: "default", name: "b") { object in
                object["data"] = ["lock": "out of band"]
            }
            let mutated = try await api.send(.GET, "/api/v1/namespaces/default/configmaps/b")
            versions.append(UInt64(try #require(mutated.resourceVersion))!)
            #expect((mutated.json["data"] as? [String: String])?["lock"] == "out of band")
            #expect(versions == versions.sorted() && Set(versions).count == versions.count)
            let list = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            #expect((list.metadata["resourceVersion"] as? String) == String(versions.last!))
        }
    }

    /// As etcd's revision: a delete is a write too, and a re-created object never gets a version
    /// issued before (the Kubernetes backend seeds lost fencing counters from it).
    @Test func resourceVersionsAreNeverReusedAcrossADelete() async throws {
        try await withDouble { _, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("r"))
            let first = UInt64(try #require(created.resourceVersion))!
            _ = try await api.send(.DELETE, "/api/v1/namespaces/default/configmaps/r")
            let afterDelete = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?limit=1")
            let deleteRevision = UInt64(try #require(afterDelete.metadata["resourceVersion"] as? String))!
            #expect(deleteRevision > first, "the delete took a revision of its own")
            let again = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("r"))
            #expect(UInt64(try #require(again.resourceVersion))! > deleteRevision)
        }
    }

    @Test func preconditionedDeleteConflictsOnAStaleResourceVersion() async throws {
        try await withDouble { _, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("p"))
            let stale = try await api.send(
                .DELETE, "/api/v1/namespaces/default/configmaps/p",
                ["kind": "DeleteOptions", "apiVersion": "v1", "preconditions": ["resourceVersion": "1"]])
            try expectStatus(stale, code: 409, reason: "Conflict", name: "p", kind: "configmaps")
            let current = try await api.send(
                .DELETE, "/api/v1/namespaces/default/configmaps/p",
                ["preconditions": ["resourceVersion": try #require(created.resourceVersion)]])
            #expect(current.status == 200)
        }
    }

    @Test func createInAMissingNamespaceIsNotFoundNamingTheNamespace() async throws {
        try await withDouble { _, api in
            let response = try await api.send(.POST, "/api/v1/namespaces/nowhere/configmaps", configMap("x"))
            try expectStatus(response, code: 404, reason: "NotFound", name: "nowhere", kind: "namespaces")
            #expect(response.json["message"] as? String == "namespaces \"nowhere\" not found")
        }
    }

    @Test(arguments: ["Upper", "under_score", "-leading", "trailing-", String(repeating: "a", count: 254)])
    func invalidNamesAreUnprocessable(_ name: String) async throws {
        try await withDouble { _, api in
            let response = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap(name))
            try expectStatus(response, code: 422, reason: "Invalid", name: name, kind: "ConfigMap")
            let causes = try #require((response.json["details"] as? [String: Any])?["causes"] as? [[String: Any]])
            #expect(causes.first?["field"] as? String == "metadata.name")
            #expect((response.json["message"] as? String)?.contains("RFC 1123 subdomain") == true)
        }
    }

    @Test func invalidLabelValuesAndDataKeysAreUnprocessable() async throws {
        try await withDouble { _, api in
            let badLabel = try await api.send(
                .POST, "/api/v1/namespaces/default/configmaps", configMap("ok", labels: ["lockheed/lock": "a b"]))
            #expect(badLabel.status == 422)
            let badKey = try await api.send(
                .POST, "/api/v1/namespaces/default/configmaps", configMap("ok", data: ["no/slash": "x"]))
            #expect(badKey.status == 422)
            let good = try await api.send(
                .POST, "/api/v1/namespaces/default/configmaps", configMap("ok", labels: ["lockheed/lock": "a.b_c"]))
            #expect(good.status == 201)
        }
    }

    @Test func createRejectsAResourceVersionAndReplaceRejectsAMismatchedName() async throws {
        try await withDouble { _, api in
            let withVersion = try await api.send(
                .POST, "/api/v1/namespaces/default/configmaps", configMap("r", resourceVersion: "5"))
            #expect(withVersion.status == 500)
            #expect(
                withVersion.json["message"] as? String == "resourceVersion should not be set on objects to be created")
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("r"))
            let renamed = try await api.send(.PUT, "/api/v1/namespaces/default/configmaps/r", configMap("s"))
            try expectStatus(renamed, code: 400, reason: "BadRequest")
        }
    }

    @Test func concurrentCompareAndSwapWritersLoseNoUpdate() async throws {
        try await withDouble { server, api in
            _ = try await api.send(
                .POST, "/api/v1/namespaces/default/configmaps", configMap("counter", data: ["n": "0"]))
            let successes = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        var won = 0
                        for _ in 0..<8 {
                            while true {
                                let read = try await api.send(.GET, "/api/v1/namespaces/default/configmaps/counter")
                                let value = Int((read.json["data"] as? [String: String])?["n"] ?? "") ?? -1
                                let write = try await api.send(
                                    .PUT, "/api/v1/namespaces/default/configmaps/counter",
                                    configMap(
                                        "counter", data: ["n": String(value + 1)],
                                        resourceVersion: read.resourceVersion))
                                if write.status == 200 { break }
                                #expect(write.status == 409)
                            }
                            won += 1
                        }
                        return won
                    }
                }
                return try await group.reduce(0, +)
            }
            let stored = try #require(server.configMap(namespace: "default", name: "counter"))
            let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
            #expect((object["data"] as? [String: String])?["n"] == String(successes))
            #expect(successes == 48)
        }
    }

    @Test func namespacesAndTheClusterWideList() async throws {
        try await withDouble { server, api in
            server.createNamespace("alpha")
            let namespace = try await api.send(.GET, "/api/v1/namespaces/alpha")
            #expect(namespace.status == 200 && namespace.json["kind"] as? String == "Namespace")
            let missing = try await api.send(.GET, "/api/v1/namespaces/omega")
            try expectStatus(missing, code: 404, reason: "NotFound", name: "omega", kind: "namespaces")
            _ = try await api.send(.POST, "/api/v1/namespaces/alpha/configmaps", configMap("a"))
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("d"))
            let all = try await api.send(.GET, "/api/v1/configmaps")
            #expect(itemNames(all) == ["a", "d"])
            let listInMissingNamespace = try await api.send(.GET, "/api/v1/namespaces/omega/configmaps")
            #expect(listInMissingNamespace.status == 200 && itemNames(listInMissingNamespace).isEmpty)
            let patch = try await api.send(.PATCH, "/api/v1/namespaces/alpha/configmaps/a", ["data": ["x": "y"]])
            try expectStatus(patch, code: 405, reason: "MethodNotAllowed")
        }
    }

    // MARK: Selectors and pagination

    @Test func labelAndFieldSelectors() async throws {
        try await withDouble { _, api in
            let labels: [String: [String: String]] = [
                "a": ["lockheed/lock": "a", "tier": "x"],
                "b": ["lockheed/lock": "b", "tier": "y"],
                "c": ["lockheed/lock": "c"],
                "d": [:],
            ]
            for (name, set) in labels.sorted(by: { $0.key < $1.key }) {
                let created = try await api.send(
                    .POST, "/api/v1/namespaces/default/configmaps", configMap(name, labels: set))
                #expect(created.status == 201)
            }
            func names(_ query: String) async throws -> [String] {
                let list = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?\(query)")
                #expect(list.status == 200, "\(query)")
                #expect(list.json["kind"] as? String == "ConfigMapList")
                let items = list.json["items"] as? [[String: Any]] ?? []
                return items.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
            }
            #expect(try await names("labelSelector=lockheed%2Flock%3Db") == ["b"])
            #expect(try await names("labelSelector=lockheed/lock") == ["a", "b", "c"])
            #expect(try await names("labelSelector=tier!=x") == ["b", "c", "d"])
            #expect(try await names("labelSelector=lockheed/lock,tier!=x") == ["b", "c"])
            #expect(try await names("labelSelector=lockheed/lock,tier=x") == ["a"])
            #expect(try await names("labelSelector=!tier") == ["c", "d"])
            #expect(try await names("labelSelector=tier+in+(x,y)") == ["a", "b"])
            #expect(try await names("fieldSelector=metadata.name%3Dc") == ["c"])
            #expect(try await names("fieldSelector=metadata.name!=c&labelSelector=lockheed/lock") == ["a", "b"])
            #expect(try await names("") == ["a", "b", "c", "d"])

            let badField = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?fieldSelector=data.x=1")
            try expectStatus(badField, code: 400, reason: "BadRequest")
            #expect(badField.json["message"] as? String == "field label not supported: data.x")
            let badLabel = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?labelSelector=a=b%20c")
            #expect(badLabel.status == 400)
        }
    }

    @Test func paginationWithContinueServesOneConsistentSnapshot() async throws {
        try await withDouble { server, api in
            for index in 1...5 {
                _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("item-\(index)"))
            }
            let first = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?limit=2")
            #expect(itemNames(first) == ["item-1", "item-2"])
            #expect(first.metadata["remainingItemCount"] as? Int == 3)
            let token = try #require(first.metadata["continue"] as? String)
            let snapshot = try #require(first.metadata["resourceVersion"] as? String)

            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("item-0"))
            _ = try await api.send(.DELETE, "/api/v1/namespaces/default/configmaps/item-4")
            let second = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?limit=2&continue=\(token)")
            #expect(itemNames(second) == ["item-3", "item-4"], "the continuation sees the first page's snapshot")
            #expect(second.metadata["resourceVersion"] as? String == snapshot)
            let token2 = try #require(second.metadata["continue"] as? String)
            let third = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?limit=2&continue=\(token2)")
            #expect(itemNames(third) == ["item-5"])
            #expect(third.metadata["continue"] == nil)

            let selected = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?limit=1&labelSelector=missing!=x")
            #expect(selected.metadata["remainingItemCount"] == nil, "no remaining count with a selector")
            #expect(selected.metadata["continue"] is String, "more keys remain, as etcd pages")

            server.compactHistory()
            let expired = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?limit=2&continue=\(token)")
            try expectStatus(expired, code: 410, reason: "Expired")
            let garbage = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?limit=2&continue=zzz")
            try expectStatus(garbage, code: 400, reason: "BadRequest")
        }
    }

    // MARK: Watch

    @Test func listAtAnExactResourceVersionServesThatSnapshot() async throws {
        try await withDouble { _, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("x"))
            let version = try #require(created.resourceVersion)
            _ = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/x", configMap("x", data: ["lock": "later"]))
            let old = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?resourceVersion=\(version)&resourceVersionMatch=Exact")
            #expect(old.metadata["resourceVersion"] as? String == version)
            let items = old.json["items"] as? [[String: Any]] ?? []
            #expect((items.first?["data"] as? [String: String])?["lock"] == "{}")
            let future = try await api.send(
                .GET, "/api/v1/namespaces/default/configmaps?resourceVersion=999999&resourceVersionMatch=Exact")
            try expectStatus(future, code: 504, reason: "Timeout")
        }
    }

    @Test func watchStreamsEventsFromAResourceVersion() async throws {
        try await withDouble { server, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("w"))
            let version = try #require(created.resourceVersion)
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("other"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dw&resourceVersion=\(version)"
            )
            #expect(watch.status == 200)
            try await waitUntil { server.openWatchCount == 1 }
            let updated = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/w",
                configMap("w", data: ["lock": "new"], resourceVersion: version))
            _ = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/other", configMap("other", data: ["x": "1"]))
            _ = try await api.send(.DELETE, "/api/v1/namespaces/default/configmaps/w")

            let modified = try await watch.next()
            #expect(modified.type == "MODIFIED")
            #expect(modified.resourceVersion == updated.resourceVersion)
            #expect(modified.data?["lock"] == "new")
            let deleted = try await watch.next()
            #expect(deleted.type == "DELETED")
            #expect(UInt64(deleted.resourceVersion ?? "0")! > UInt64(updated.resourceVersion ?? "0")!)
            #expect(deleted.name == "w")

            // Resuming from the first version replays both events; no version starts with ADDED for what exists.
            let resumed = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=true&fieldSelector=metadata.name=w&resourceVersion=\(version)"
            )
            #expect(try await resumed.next().type == "MODIFIED")
            #expect(try await resumed.next().type == "DELETED")
            let initial = try await api.watch("/api/v1/namespaces/default/configmaps?watch=1")
            let added = try await initial.next()
            #expect(added.type == "ADDED" && added.name == "other")
            await watch.cancel()
            await resumed.cancel()
            await initial.cancel()
        }
    }

    @Test func watchListSendsInitialEventsThenAnEndBookmark() async throws {
        try await withDouble { _, api in
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("one"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                    + "&resourceVersionMatch=NotOlderThan")
            let added = try await watch.next()
            #expect(added.type == "ADDED" && added.name == "one")
            let end = try await watch.next()
            #expect(end.type == "BOOKMARK")
            let annotations = end.metadata["annotations"] as? [String: String]
            #expect(annotations?["k8s.io/initial-events-end"] == "true")
            await watch.cancel()
        }
    }

    @Test func watchOnAnObjectPathFollowsThatObject() async throws {
        try await withDouble { server, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("solo"))
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("noise"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps/solo?watch=true&resourceVersion=\(created.resourceVersion ?? "")"
            )
            try await waitUntil { server.openWatchCount == 1 }
            #expect(server.requestCount("WATCH") == 1)
            _ = try await api.send(.PUT, "/api/v1/namespaces/default/configmaps/noise", configMap("noise", data: [:]))
            _ = try await api.send(.DELETE, "/api/v1/namespaces/default/configmaps/solo")
            let event = try await watch.next()
            #expect(event.type == "DELETED" && event.name == "solo")
            await watch.cancel()
        }
    }

    @Test func watchFromACompactedResourceVersionGetsGone() async throws {
        try await withDouble { server, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("g"))
            let version = try #require(created.resourceVersion)
            _ = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/g", configMap("g", data: ["a": "b"]))
            server.compactHistory()
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name=g&resourceVersion=\(version)"
            )
            #expect(watch.status == 200)
            let event = try await watch.next()
            #expect(event.type == "ERROR")
            #expect(event.object["kind"] as? String == "Status")
            #expect(event.object["code"] as? Int == 410)
            #expect(event.object["reason"] as? String == "Expired")
            #expect((event.object["message"] as? String)?.hasPrefix("too old resource version: \(version)") == true)
            #expect(try await watch.ended())
        }
    }

    @Test func labelSelectedWatchSeesObjectsEnterAndLeave() async throws {
        try await withDouble { server, api in
            let watch = try await api.watch("/api/v1/namespaces/default/configmaps?watch=1&labelSelector=held%3Dyes")
            try await waitUntil { server.openWatchCount == 1 }
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("e"))
            let entered = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/e",
                configMap("e", labels: ["held": "yes"], resourceVersion: created.resourceVersion))
            let left = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/e",
                configMap("e", labels: ["held": "no"], resourceVersion: entered.resourceVersion))
            let added = try await watch.next()
            #expect(added.type == "ADDED" && added.resourceVersion == entered.resourceVersion)
            let removed = try await watch.next()
            #expect(removed.type == "DELETED" && removed.resourceVersion == left.resourceVersion)
            #expect(removed.labels?["held"] == "yes", "a leaving object is sent with its previous content")
            await watch.cancel()
        }
    }

    @Test func watchBookmarksAndTimeout() async throws {
        try await withDouble { server, api in
            _ = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("b"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=3"
                    + "&resourceVersion=\(server.currentResourceVersion)")
            let bookmark = try await watch.next()
            #expect(bookmark.type == "BOOKMARK")
            #expect(bookmark.resourceVersion == server.currentResourceVersion)
            var ended = false
            for _ in 0..<5 where !ended {
                ended = try await watch.ended()
            }
            #expect(ended, "timeoutSeconds ends the stream")
            try await waitUntil { server.openWatchCount == 0 }
        }
    }

    @Test func endedWatchesResumeFromTheLastResourceVersion() async throws {
        try await withDouble { server, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("r"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(created.resourceVersion ?? "")")
            try await waitUntil { server.openWatchCount == 1 }
            server.endAllWatches()
            #expect(try await watch.ended())
            #expect(server.openWatchCount == 0)
            let missed = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/r", configMap("r", data: ["lock": "missed"]))
            let resumed = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=\(created.resourceVersion ?? "")")
            let event = try await resumed.next()
            #expect(event.type == "MODIFIED" && event.resourceVersion == missed.resourceVersion)
            await resumed.cancel()
        }
    }

    // MARK: Authentication and authorization

    @Test func bearerTokensAreRequired() async throws {
        try await withDouble { _, api in
            var anonymous = api
            anonymous.token = nil
            let missing = try await anonymous.send(.GET, "/api/v1/namespaces/default/configmaps")
            try expectStatus(missing, code: 401, reason: "Unauthorized")
            #expect(missing.json["message"] as? String == "Unauthorized")
            var wrong = api
            wrong.token = "not-the-token"
            let rejected = try await wrong.send(.GET, "/api/v1/namespaces/default/configmaps/x")
            try expectStatus(rejected, code: 401, reason: "Unauthorized")
            let version = try await anonymous.send(.GET, "/version")
            #expect(version.status == 200 && version.json["gitVersion"] is String)
            let allowed = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            #expect(allowed.status == 200)
        }
    }

    @Test func forbiddenNamesTheVerbAndResource() async throws {
        try await withDouble { server, api in
            server.createNamespace("team")
            let created = try await api.send(.POST, "/api/v1/namespaces/team/configmaps", configMap("x"))
            server.setForbidden(verb: "update", resource: "configmaps", namespace: "team")
            let denied = try await api.send(
                .PUT, "/api/v1/namespaces/team/configmaps/x", configMap("x", resourceVersion: created.resourceVersion))
            try expectStatus(denied, code: 403, reason: "Forbidden", name: "x", kind: "configmaps")
            #expect(
                denied.json["message"] as? String
                    == "configmaps \"x\" is forbidden: User \"system:serviceaccount:default:lockheed\" cannot update "
                    + "resource \"configmaps\" in API group \"\" in the namespace \"team\"")
            #expect(try await api.send(.GET, "/api/v1/namespaces/team/configmaps/x").status == 200)
            server.setForbidden(verb: "LIST", resource: "configmaps", namespace: "team")
            let list = try await api.send(.GET, "/api/v1/namespaces/team/configmaps")
            #expect(
                list.json["message"] as? String
                    == "configmaps is forbidden: User \"system:serviceaccount:default:lockheed\" cannot list "
                    + "resource \"configmaps\" in API group \"\" in the namespace \"team\"")
            #expect(try await api.send(.GET, "/api/v1/namespaces/default/configmaps").status == 200)
        }
    }

    // MARK: Faults and counters

    @Test func injectedStatusFaultsAndRetryAfter() async throws {
        try await withDouble { server, api in
            server.inject(.status(429, retryAfterSeconds: 2), on: .init(verb: "GET", name: "f"), times: 1)
            server.inject(.status(500, retryAfterSeconds: nil), on: .init(verb: "POST"), times: 2)
            let throttled = try await api.send(.GET, "/api/v1/namespaces/default/configmaps/f")
            try expectStatus(throttled, code: 429, reason: "TooManyRequests")
            #expect(throttled.headers.first(name: "Retry-After") == "2")
            #expect((throttled.json["details"] as? [String: Any])?["retryAfterSeconds"] as? Int == 2)
            #expect(try await api.send(.GET, "/api/v1/namespaces/default/configmaps/f").status == 404)
            for _ in 0..<2 {
                let failed = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("f"))
                try expectStatus(failed, code: 500, reason: "InternalError")
            }
            #expect(try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("f")).status == 201)
        }
    }

    @Test func injectedLatencyDelaysTheAnswer() async throws {
        try await withDouble { server, api in
            server.inject(.latency(.seconds(1)), on: .init(verb: "LIST"), times: 1)
            var start = ContinuousClock.now
            let delayed = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            let slow = ContinuousClock.now - start
            #expect(delayed.status == 200)
            #expect(slow >= .seconds(1))
            start = ContinuousClock.now
            _ = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            let fast = ContinuousClock.now - start
            #expect(fast < .seconds(1), "the fault applied once")
        }
    }

    @Test func injectedDroppedConnectionFailsTheRequest() async throws {
        try await withDouble { server, api in
            server.inject(.dropConnection, on: .init(verb: "PUT"), times: 1)
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("d"))
            await #expect(throws: (any Error).self) {
                _ = try await api.send(
                    .PUT, "/api/v1/namespaces/default/configmaps/d",
                    configMap("d", data: ["x": "y"], resourceVersion: created.resourceVersion))
            }
            let retried = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/d",
                configMap("d", data: ["x": "y"], resourceVersion: created.resourceVersion))
            #expect(retried.status == 200)
        }
    }

    @Test func faultsOnWatchRequests() async throws {
        try await withDouble { server, api in
            server.inject(.status(503, retryAfterSeconds: nil), on: .init(verb: "WATCH"), times: 1)
            server.inject(.dropConnection, on: .init(verb: "WATCH", name: "w"), times: 1)
            let unavailable = try await api.send(.GET, "/api/v1/namespaces/default/configmaps?watch=1")
            try expectStatus(unavailable, code: 503, reason: "ServiceUnavailable")
            await #expect(throws: (any Error).self) {
                let dropped = try await api.watch(
                    "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name=w")
                _ = try await dropped.next()
            }
            #expect(server.requestCount("WATCH") == 2)
        }
    }

    @Test func conflictStormComesFromACompetingWriter() async throws {
        try await withDouble { server, api in
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("c"))
            let watch = try await api.watch(
                "/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name=c"
                    + "&resourceVersion=\(created.resourceVersion ?? "")")
            try await waitUntil { server.openWatchCount == 1 }
            server.inject(.conflict, on: .init(verb: "PUT", name: "c"), times: 3)
            var version = try #require(created.resourceVersion)
            var conflicts = 0
            for _ in 0..<10 {
                let attempt = try await api.send(
                    .PUT, "/api/v1/namespaces/default/configmaps/c",
                    configMap("c", data: ["lock": "mine"], resourceVersion: version))
                if attempt.status == 200 { break }
                try expectStatus(attempt, code: 409, reason: "Conflict", name: "c", kind: "configmaps")
                conflicts += 1
                version = try #require(
                    try await api.send(.GET, "/api/v1/namespaces/default/configmaps/c").resourceVersion)
            }
            #expect(conflicts == 3)
            let stored = try #require(server.configMap(namespace: "default", name: "c"))
            let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
            #expect((object["data"] as? [String: String])?["lock"] == "mine")
            for _ in 0..<3 { #expect(try await watch.next().type == "MODIFIED") }
            await watch.cancel()
        }
    }

    @Test func requestCountersCountPerOperation() async throws {
        try await withDouble { server, api in
            _ = try await api.send(.GET, "/version")
            let created = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("n"))
            _ = try await api.send(.GET, "/api/v1/namespaces/default/configmaps/n")
            _ = try await api.send(.GET, "/api/v1/namespaces/default/configmaps/n")
            _ = try await api.send(
                .PUT, "/api/v1/namespaces/default/configmaps/n",
                configMap("n", resourceVersion: created.resourceVersion))
            _ = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            _ = try await api.send(.DELETE, "/api/v1/namespaces/default/configmaps/n")
            #expect(server.requestCount("POST") == 1)
            #expect(server.requestCount("GET") == 2)
            #expect(server.requestCount("PUT") == 1)
            #expect(server.requestCount("LIST") == 1)
            #expect(server.requestCount("DELETE") == 1)
            #expect(server.requestCount() == 6)
            server.resetCounters()
            #expect(server.requestCount() == 0)
        }
    }

    @Test func seededGoFormatObjectsAreServedAsGiven() async throws {
        try await withDouble { server, api in
            let lock =
                #"{"name":"job","lockType":"mutex","leases":{"pod-1":{"instanceID":"pod-1","expires":"9999-12-31T23:59:59Z"}},"tags":["a"]}"#
            let seed: [String: Any] = [
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": [
                    "name": "lockheed-job", "labels": ["lockheed/lock": "job"],
                    "annotations": ["reserved/by": "pod-1", "reserved/expires": "2030-01-01T00:00:00Z"],
                ],
                "data": ["lock": lock],
            ]
            try server.seedConfigMap(namespace: "go", json: try JSONSerialization.data(withJSONObject: seed))
            let read = try await api.send(.GET, "/api/v1/namespaces/go/configmaps/lockheed-job")
            #expect(read.status == 200)
            #expect((read.json["data"] as? [String: String])?["lock"] == lock)
            #expect((read.metadata["annotations"] as? [String: String])?["reserved/by"] == "pod-1")
            let before = try #require(read.resourceVersion)
            server.mutateConfigMap(namespace: "go", name: "lockheed-job") { $0["data"] = ["lock": "{}"] }
            let after = try await api.send(.GET, "/api/v1/namespaces/go/configmaps/lockheed-job")
            #expect(UInt64(after.resourceVersion ?? "0")! > UInt64(before)!)
            server.deleteConfigMap(namespace: "go", name: "lockheed-job")
            #expect(server.configMap(namespace: "go", name: "lockheed-job") == nil)
        }
    }

    // MARK: TLS

    @Test func tlsWithClientCertificatesAndTokens() async throws {
        let material = try KubernetesAPIServerDouble.TLS.generateForTests()
        let server = try await KubernetesAPIServerDouble.start(tls: material.tls)
        defer { Task { try? await server.shutdown() } }
        #expect(server.baseURL.hasPrefix("https://127.0.0.1:"))
        let trust = try NIOSSLCertificate.fromPEMBytes(Array(material.caPEM.utf8))

        var mutual = TLSConfiguration.makeClientConfiguration()
        mutual.trustRoots = .certificates(trust)
        mutual.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(material.clientCertPEM.utf8))
            .map { .certificate($0) }
        mutual.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(material.clientKeyPEM.utf8), format: .pem))
        try await withClient(tls: mutual) { client in
            let api = APIClient(client: client, baseURL: server.baseURL, token: nil)
            let list = try await api.send(.GET, "/api/v1/namespaces/default/configmaps")
            #expect(list.status == 200, "a verified client certificate authenticates without a token")
            server.setForbidden(verb: "create", resource: "configmaps", namespace: "default")
            let denied = try await api.send(.POST, "/api/v1/namespaces/default/configmaps", configMap("t"))
            #expect((denied.json["message"] as? String)?.contains("User \"lockheed-test-user\"") == true)
        }

        var serverOnly = TLSConfiguration.makeClientConfiguration()
        serverOnly.trustRoots = .certificates(trust)
        try await withClient(tls: serverOnly) { client in
            let withToken = APIClient(client: client, baseURL: server.baseURL, token: "test-token")
            let tokenAnswer = try await withToken.send(.GET, "/api/v1/namespaces/default/configmaps")
            #expect(tokenAnswer.status == 200)
            let anonymous = APIClient(client: client, baseURL: server.baseURL, token: nil)
            let anonymousAnswer = try await anonymous.send(.GET, "/api/v1/namespaces/default/configmaps")
            #expect(anonymousAnswer.status == 401)
        }

        try await withClient(tls: TLSConfiguration.makeClientConfiguration()) { client in
            let untrusting = APIClient(client: client, baseURL: server.baseURL, token: "test-token")
            await #expect(throws: (any Error).self) {
                _ = try await untrusting.send(.GET, "/api/v1/namespaces/default/configmaps", timeout: .seconds(1))
            }
        }

        let other = try KubernetesAPIServerDouble.TLS.generateForTests()
        var foreignCertificate = serverOnly
        foreignCertificate.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(other.clientCertPEM.utf8))
            .map { .certificate($0) }
        foreignCertificate.privateKey = .privateKey(
            try NIOSSLPrivateKey(bytes: Array(other.clientKeyPEM.utf8), format: .pem))
        try await withClient(tls: foreignCertificate) { client in
            let foreign = APIClient(client: client, baseURL: server.baseURL, token: "test-token")
            await #expect(throws: (any Error).self, "a certificate from another CA fails the handshake") {
                _ = try await foreign.send(.GET, "/api/v1/namespaces/default/configmaps", timeout: .seconds(1))
            }
        }
        try await server.shutdown()
    }

    @Test func shutdownEndsWatchesAndStopsListening() async throws {
        let server = try await KubernetesAPIServerDouble.start(bearerTokens: [])
        try await withClient(tls: nil) { client in
            let api = APIClient(client: client, baseURL: server.baseURL, token: nil)
            #expect(try await api.send(.GET, "/api/v1/namespaces/default/configmaps").status == 200)
            let watch = try await api.watch("/api/v1/namespaces/default/configmaps?watch=1")
            try await waitUntil { server.openWatchCount == 1 }
            try await server.shutdown()
            #expect(try await watch.ended())
            await #expect(throws: (any Error).self) {
                _ = try await api.send(.GET, "/api/v1/namespaces/default/configmaps", timeout: .seconds(1))
            }
        }
    }
}

// MARK: - Helpers

/// A ConfigMap body.
private func configMap(
    _ name: String, data: [String: String] = ["lock": "{}"], labels: [String: String] = [:],
    resourceVersion: String? = nil
) -> [String: Any] {
    var metadata: [String: Any] = ["name": name]
    if !labels.isEmpty { metadata["labels"] = labels }
    if let resourceVersion { metadata["resourceVersion"] = resourceVersion }
    return ["apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data]
}

private func itemNames(_ response: APIResponse) -> [String] {
    (response.json["items"] as? [[String: Any]] ?? []).compactMap {
        ($0["metadata"] as? [String: Any])?["name"] as? String
    }
}

private func expectStatus(
    _ response: APIResponse, code: Int, reason: String, name: String? = nil, kind: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(response.status == code, sourceLocation: sourceLocation)
    #expect(response.json["kind"] as? String == "Status", sourceLocation: sourceLocation)
    #expect(response.json["apiVersion"] as? String == "v1", sourceLocation: sourceLocation)
    #expect(response.json["status"] as? String == "Failure", sourceLocation: sourceLocation)
    #expect(response.json["reason"] as? String == reason, sourceLocation: sourceLocation)
    #expect(response.json["code"] as? Int == code, sourceLocation: sourceLocation)
    #expect(response.json["metadata"] is [String: Any], sourceLocation: sourceLocation)
    if name != nil || kind != nil {
        let details = response.json["details"] as? [String: Any]
        #expect(details?["name"] as? String == name, sourceLocation: sourceLocation)
        #expect(details?["kind"] as? String == kind, sourceLocation: sourceLocation)
    }
}

/// Runs `body` against a fresh plain-HTTP double and a client with its token.
private func withDouble(
    _ body: (KubernetesAPIServerDouble, APIClient) async throws -> Void
) async throws {
    let server = try await KubernetesAPIServerDouble.start()
    do {
        try await withClient(tls: nil) { client in
            try await body(server, APIClient(client: client, baseURL: server.baseURL, token: "test-token"))
        }
    } catch {
        try? await server.shutdown()
        throw error
    }
    try await server.shutdown()
}

private func withClient(tls: TLSConfiguration?, _ body: (HTTPClient) async throws -> Void) async throws {
    var configuration = HTTPClient.Configuration()
    configuration.tlsConfiguration = tls
    let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    do {
        try await body(client)
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

private func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<200 where !condition() {
        try await Task.sleep(for: .milliseconds(10))
    }
    #expect(condition())
}

/// A decoded HTTP answer.
private struct APIResponse {
    var status: Int
    var headers: HTTPHeaders
    var json: [String: Any]

    var metadata: [String: Any] { json["metadata"] as? [String: Any] ?? [:] }
    var resourceVersion: String? { metadata["resourceVersion"] as? String }
}

/// A minimal Kubernetes REST client over AsyncHTTPClient.
private struct APIClient {
    var client: HTTPClient
    var baseURL: String
    var token: String?

    func request(_ method: HTTPMethod, _ path: String, _ body: [String: Any]?) throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        return request
    }

    /// Sends one request. AsyncHTTPClient retries failed connection attempts until the deadline, so a test
    /// expecting a connection or handshake failure passes a short `timeout`.
    func send(
        _ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil, timeout: TimeAmount = .seconds(10)
    ) async throws -> APIResponse {
        let response = try await client.execute(try request(method, path, body), timeout: timeout)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(bytes.readableBytesView))) as? [String: Any]
        return APIResponse(status: Int(response.status.code), headers: response.headers, json: json ?? [:])
    }

    func watch(_ path: String) async throws -> WatchStream {
        let response = try await client.execute(try request(.GET, path, nil), timeout: .seconds(20))
        return WatchStream(status: Int(response.status.code), body: response.body)
    }
}

/// One decoded watch event.
private struct WatchEvent {
    var type: String
    var object: [String: Any]

    var metadata: [String: Any] { object["metadata"] as? [String: Any] ?? [:] }
    var resourceVersion: String? { metadata["resourceVersion"] as? String }
    var name: String? { metadata["name"] as? String }
    var labels: [String: String]? { metadata["labels"] as? [String: String] }
    var data: [String: String]? { object["data"] as? [String: String] }
}

/// Reads a watch response line by line, with a timeout on each read.
private final class WatchStream: Sendable {
    let status: Int
    private let task: Task<Void, Never>

    init(status: Int, body: HTTPClientResponse.Body) {
        self.status = status
        let buffer = LineBuffer()
        self.task = Task {
            var pending = Data()
            do {
                for try await chunk in body {
                    pending.append(contentsOf: chunk.readableBytesView)
                    while let newline = pending.firstIndex(of: 0x0A) {
                        buffer.append(Data(pending[pending.startIndex..<newline]))
                        pending = Data(pending[pending.index(after: newline)...])
                    }
                }
            } catch {}
            buffer.finish()
        }
        self.lineBuffer = buffer
    }

    private let lineBuffer: LineBuffer

    /// The next line, or nil when the stream ended (or failed); throws after five seconds without either.
    private func nextLine() async throws -> Data? {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            switch lineBuffer.take() {
            case .line(let line): return line
            case .ended: return nil
            case .empty: try await Task.sleep(for: .milliseconds(5))
            }
        }
        throw WatchTimeout()
    }

    func next() async throws -> WatchEvent {
        let line = try #require(try await nextLine(), "the watch stream ended early")
        let json = try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
        return WatchEvent(type: json["type"] as? String ?? "", object: json["object"] as? [String: Any] ?? [:])
    }

    /// Whether the stream has ended (true) or gave another line (false).
    func ended() async throws -> Bool {
        try await nextLine() == nil
    }

    func cancel() async {
        task.cancel()
    }

    struct WatchTimeout: Error {}
}

/// Lines received from a watch, shared between the reading task and the test.
private final class LineBuffer: Sendable {
    enum Item {
        case line(Data)
        case ended
        case empty
    }

    private let state = Mutex<(lines: [Data], ended: Bool)>(([], false))

    func append(_ line: Data) { state.withLock { $0.lines.append(line) } }

    func finish() { state.withLock { $0.ended = true } }

    func take() -> Item {
        state.withLock { state in
            if !state.lines.isEmpty { return .line(state.lines.removeFirst()) }
            return state.ended ? .ended : .empty
        }
    }
}
