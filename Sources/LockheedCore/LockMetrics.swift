import CoreMetrics

/// The swift-metrics instruments a ``Lock`` reports to.
///
/// - `lockheed_operations_total` (counter; dimensions `backend`, `operation`, `result`)
/// - `lockheed_operation_duration_seconds` (timer; dimensions `backend`, `operation`)
/// - `lockheed_leases_lost_total` (counter; dimension `backend`)
struct LockMetrics: Sendable {
    let backend: String
    let factory: any MetricsFactory

    func record(_ operation: String, succeeded: Bool, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Counter(
            label: "lockheed_operations_total",
            dimensions: [
                ("backend", backend), ("operation", operation), ("result", succeeded ? "success" : "failure"),
            ],
            factory: factory
        ).increment()
        Timer(
            label: "lockheed_operation_duration_seconds",
            dimensions: [("backend", backend), ("operation", operation)],
            factory: factory
        ).recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    func recordLoss() {
        Counter(label: "lockheed_leases_lost_total", dimensions: [("backend", backend)], factory: factory).increment()
    }
}
