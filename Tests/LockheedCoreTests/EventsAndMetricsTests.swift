import LockheedConformance
import LockheedCore
import LockheedMemory
import MetricsTestKit
import Testing

@Suite("Events and metrics", .timeSensitive)
struct EventsAndMetricsTests {
    @Test("operations are counted and timed, and a loss is counted")
    func metricsAreRecorded() async throws {
        let metrics = TestMetrics()
        let store = MemoryLockStore()
        let lock = try Lock("metered", locker: store.makeLocker(), metricsFactory: metrics)
            .duration(.seconds(5)).renewInterval(.milliseconds(100))
        try await lock.acquire()
        try await lock.renew()
        _ = try await store.makeLocker().breakLock(lock.name, if: nil)
        #expect(await eventually(within: .seconds(4)) { lock.isHeld == false })
        try await lock.release()

        func count(_ operation: String, _ result: String) -> Int64 {
            metrics.counterTotal(
                label: "lockheed_operations_total",
                dimensions: [("backend", "memory"), ("operation", operation), ("result", result)])
        }
        #expect(count("acquire", "success") == 1)
        #expect(count("renew", "success") >= 1)
        #expect(count("renew", "failure") == 1)
        #expect(count("release", "success") == 1)
        #expect(metrics.counterTotal(label: "lockheed_leases_lost_total", dimensions: [("backend", "memory")]) == 1)
        let timer = try metrics.expectTimer(
            "lockheed_operation_duration_seconds", [("backend", "memory"), ("operation", "acquire")])
        #expect(timer.values.count == 1)
    }

    @Test("events arrive in order to every subscriber")
    func eventsReachEverySubscriber() async throws {
        let lock = try Lock("evented", locker: MemoryLocker()).keepAlive(false)
        let first = lock.events()
        let second = lock.events()
        try await lock.acquire()
        try await lock.renew()
        try await lock.release()
        for stream in [first, second] {
            var names: [String] = []
            for await event in stream {
                names.append(event.name)
                if names.count == 3 { break }
            }
            #expect(names == ["acquired", "renewed", "released"])
        }
    }
}
