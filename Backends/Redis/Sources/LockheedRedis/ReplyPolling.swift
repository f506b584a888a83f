/// Decides whether the caller of a command polls for its reply or leaves the wait to the
/// reactor (see ``RedisConnectionPool``). One per pool, behind its mutex.
///
/// Polling saves two thread wake-ups per round trip, but only pays for a lone caller of a near
/// server. So a caller polls only when no other command of the pool has been in flight for
/// ``quietPeriod`` and recent polls mostly caught their reply: a catch raises a score by one,
/// a miss lowers it by ``missPenalty``; at zero only every ``probeInterval``-th eligible command
/// polls, to notice when the server is near again. A miss costs CPU, not latency (the reply is
/// awaited from the moment it would have been anyway), so polling goes on while at least half
/// of the polls catch their reply; a harsher penalty switched it off on a noisy machine where
/// one poll in five missed.
struct ReplyPolling: Sendable {
    /// The score's ceiling and starting value.
    static let scoreLimit = 16
    /// What one miss costs the score.
    static let missPenalty = 1
    /// At score zero, one eligible command in this many still polls.
    static let probeInterval = 16
    /// How long after two commands overlapped polling stays off.
    static let quietPeriod: Duration = .milliseconds(20)

    /// The score now, 0...``scoreLimit``.
    private(set) var score = scoreLimit
    /// Commands between their write and their reply.
    private(set) var inFlight = 0
    private var lastOverlap: ContinuousClock.Instant?
    private var eligibleAtZero = 0

    /// Registers a command starting at `now`; returns whether its caller should poll.
    mutating func begin(at now: ContinuousClock.Instant) -> Bool {
        inFlight += 1
        if inFlight > 1 { lastOverlap = now }
        if let lastOverlap, now - lastOverlap < Self.quietPeriod { return false }
        if score > 0 { return true }
        eligibleAtZero += 1
        return eligibleAtZero % Self.probeInterval == 0
    }

    /// Whether a polling caller may go on: no other command has started meanwhile.
    var alone: Bool { inFlight == 1 }

    /// Records whether a caller's polling caught its reply.
    mutating func polled(caught: Bool) {
        score = caught ? min(Self.scoreLimit, score + 1) : max(0, score - Self.missPenalty)
    }

    /// Registers the end of a command.
    mutating func end() { inFlight -= 1 }
}
