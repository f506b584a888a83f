import CoreMetrics

/// The swift-metrics instruments of a ``LeaderElection``:
///
/// - `lockheed_leader` (gauge, 1 while leading, else 0; dimensions `lock`, `backend`)
/// - `lockheed_leader_transitions_total` (counter; dimensions `lock`, `backend`, `to`: `leader`
///   or `follower`)
struct LeaderElectionMetrics: Sendable {
    let lock: String
    let backend: String
    let factory: any MetricsFactory

    func set(leading: Bool) {
        Gauge(label: "lockheed_leader", dimensions: [("lock", lock), ("backend", backend)], factory: factory)
            .record(leading ? 1 : 0)
    }

    func transition(toLeader: Bool) {
        set(leading: toLeader)
        Counter(
            label: "lockheed_leader_transitions_total",
            dimensions: [("lock", lock), ("backend", backend), ("to", toLeader ? "leader" : "follower")],
            factory: factory
        ).increment()
    }
}
