/// Decides whether the caller of a command polls for its reply or leaves the wait to the
/// reactor (see ``RedisConnectionPool``). One per pool, behind its mutex.
///
/// Polling saves two thread wake-ups per round trip, but only pays for a lone caller of a near
/// server. So a caller polls only when no other command of the pool has been in flight for
/// ``quietPeriod``, and unless the last ``missLimit`` polls all missed their reply (a distant
/// server); then only every ``probeInterval``-th eligible command polls, and one catch turns
/// polling back on. A miss costs CPU, not latency (the reply is awaited from the moment it
/// would have been anyway); scoring misses against catches switched polling off for long
/// stretches on a noisy machine, after short bursts of misses.
struct ReplyPolling: Sendable {
    /// After this many misses in a row, polling turns off.
    static let missLimit = 8
    /// While off, one eligible command in this many still polls.
    static let probeInterval = 16
    /// How long after two commands overlapped polling stays off.
    static let quietPeriod: Duration = .milliseconds(20)

    /// Polls in a row that missed their reply.
    private(set) var missesInARow = 0
    /// Commands between their write and their reply.
    private(set) var inFlight = 0
    private var lastOverlap: ContinuousClock.Instant?
    private var eligibleWhileOff = 0

    /// Whether polling is off because the recent polls all missed.
    var isOff: Bool { missesInARow >= Self.missLimit }

    /// Registers a command starting at `now`; returns whether its caller should poll.
    mutating func begin(at now: ContinuousClock.Instant) -> Bool {
        inFlight += 1
        if inFlight > 1 { lastOverlap = now }
        if let lastOverlap, now - lastOverlap < Self.quietPeriod { return false }
        if !isOff { return true }
        eligibleWhileOff += 1
        return eligibleWhileOff % Self.probeInterval == 0
    }

    /// Whether a polling caller may go on: no other command has started meanwhile.
    var alone: Bool { inFlight == 1 }

    /// Records whether a caller's polling caught its reply.
    mutating func polled(caught: Bool) {
        missesInARow = caught ? 0 : missesInARow + 1
    }

    /// Registers the end of a command.
    mutating func end() { inFlight -= 1 }
}
