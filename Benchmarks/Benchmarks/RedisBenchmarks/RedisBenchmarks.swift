import Benchmark

// Placeholder while this backend's benchmarks are written by its issue.
let benchmarks: @Sendable () -> Void = {}
