import Foundation

/// How ``Lock/acquire()`` retries a busy lock: attempts, backoff with jitter, and an overall
/// deadline. Task cancellation always ends the wait.
///
/// Between attempts the lock waits with ``Locker/waitForChange(of:since:timeout:)``, so backends that
/// notify hand the lock over as soon as it is released.
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts, the first included; `nil` for no limit (bounded by `deadline`, if any).
    public var maxAttempts: Int?
    /// The wait after the first refusal.
    public var initialDelay: Duration
    /// The longest wait between attempts.
    public var maxDelay: Duration
    /// How much each wait grows, at least 1.
    public var multiplier: Double
    /// The fraction of each wait drawn at random (0 to 1), so waiters do not retry in step.
    public var jitter: Double
    /// The longest time to keep trying, measured from the first attempt.
    public var deadline: Duration?

    /// Creates a policy.
    public init(
        maxAttempts: Int?,
        initialDelay: Duration = .milliseconds(50),
        maxDelay: Duration = .seconds(2),
        multiplier: Double = 2,
        jitter: Double = 0.2,
        deadline: Duration? = nil
    ) {
        self.maxAttempts = maxAttempts
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.multiplier = multiplier
        self.jitter = jitter
        self.deadline = deadline
    }

    /// One attempt: fail at once when the lock is busy.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// `attempts` attempts in all, `delay` apart (the Go original's `AcquireRetry`).
    public static func attempts(_ attempts: Int, delay: Duration) -> RetryPolicy {
        RetryPolicy(maxAttempts: attempts, initialDelay: delay, maxDelay: delay, multiplier: 1, jitter: 0)
    }

    /// Wait with exponential backoff until the lock is free, or until `deadline` passes.
    public static func wait(upTo deadline: Duration? = nil) -> RetryPolicy {
        RetryPolicy(maxAttempts: nil, deadline: deadline)
    }

    /// The most attempts a policy may name.
    public static let maximumAttempts = 1_000_000

    /// Throws ``LockheedError/invalidConfiguration(_:)`` for values that cannot work: attempts
    /// outside 1...``maximumAttempts``, delays or a deadline that are negative or longer than
    /// ``AcquireRequest/maximumDuration``.
    public func validate() throws(LockheedError) {
        if let maxAttempts, !(1...Self.maximumAttempts).contains(maxAttempts) {
            throw .invalidConfiguration("maxAttempts must be from 1 to \(Self.maximumAttempts), got \(maxAttempts)")
        }
        guard initialDelay >= .zero, maxDelay >= initialDelay else {
            throw .invalidConfiguration("retry delays must satisfy 0 <= initialDelay <= maxDelay")
        }
        let longest = AcquireRequest.maximumDuration
        guard maxDelay <= longest, (deadline ?? .zero) <= longest else {
            throw .invalidConfiguration(
                "retry delays and deadline must be at most \(AcquireRequest.maximumDurationText)")
        }
        guard multiplier >= 1, (0...1).contains(jitter) else {
            throw .invalidConfiguration("retry multiplier must be >= 1 and jitter within 0...1")
        }
        if let deadline, deadline < .zero { throw .invalidConfiguration("retry deadline must not be negative") }
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1), jitter applied.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let base = initialDelay.timeInterval * pow(multiplier, Double(max(0, attempt - 1)))
        let capped = min(base, maxDelay.timeInterval)
        let jittered = capped * (1 - jitter * Double.random(in: 0...1))
        // Saturate rather than trap for a policy that skipped validate().
        guard jittered.isFinite, jittered >= 0 else { return maxDelay }
        return .nanoseconds(Int64(min(jittered * 1e9, 9e18)))
    }
}
