/// Delays between attempts to reach a dependency that may not be up yet (Kafka brokers,
/// PostgreSQL): exponential growth, capped, with jitter so that many processes restarted
/// together do not retry in lockstep.
///
/// Pure: it never reads a clock and never sleeps. Callers say how many attempts they made and
/// how long they have been trying; `Backoff` answers how long to wait before the next attempt,
/// or `nil` when it is time to give up.
package struct Backoff: Sendable, Equatable {
    /// Delay after the first failed attempt, before jitter.
    package var initialDelay: Duration
    /// Growth factor from one delay to the next (≥ 1).
    package var multiplier: Double
    /// No single delay exceeds this, before jitter.
    package var maximumDelay: Duration
    /// Fraction (0...1) of each delay that is randomized: a delay `d` becomes a value in
    /// `d * (1 - jitter) ... d`, so jitter never makes a wait longer than the cap.
    package var jitter: Double
    /// Total number of attempts, the first one included; `nil` for no limit.
    package var maximumAttempts: Int?
    /// Time budget measured from the first attempt; `nil` for no limit. A delay that would end
    /// past the budget is shortened so that one last attempt happens right at the deadline.
    package var deadline: Duration?

    package init(
        initialDelay: Duration = .milliseconds(100),
        multiplier: Double = 2,
        maximumDelay: Duration = .seconds(5),
        jitter: Double = 0.2,
        maximumAttempts: Int? = 10,
        deadline: Duration? = nil
    ) {
        precondition(initialDelay >= .zero, "initialDelay must not be negative")
        precondition(multiplier >= 1, "multiplier must be at least 1")
        precondition(maximumDelay >= initialDelay, "maximumDelay must be at least initialDelay")
        precondition((0...1).contains(jitter), "jitter is a fraction in 0...1")
        precondition(maximumAttempts.map { $0 >= 1 } ?? true, "maximumAttempts must be at least 1")
        precondition(deadline.map { $0 >= .zero } ?? true, "deadline must not be negative")
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.maximumAttempts = maximumAttempts
        self.deadline = deadline
    }

    /// Startup of a dependency: about 30 s of patience, first retry after 0.2 s.
    package static let startup = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2,
        maximumAttempts: 12, deadline: .seconds(30))

    /// A short command's connection (`history`, `db …`): retried for 10 s, never more than 2 s apart.
    package static let command = Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: .seconds(10))

    /// The delay after `failedAttempts` failures, before jitter: `initialDelay * multiplier^(n-1)`,
    /// capped at `maximumDelay`.
    package func baseDelay(afterFailedAttempts failedAttempts: Int) -> Duration {
        precondition(failedAttempts >= 1, "there is no delay before the first attempt")
        var delay = initialDelay
        // Iterating (rather than `pow`) stops at the cap and cannot overflow `Duration`.
        for _ in 1..<failedAttempts {
            let grown = delay * multiplier
            if grown >= maximumDelay { return maximumDelay }
            delay = grown
        }
        return min(delay, maximumDelay)
    }

    /// How long to wait before attempt number `failedAttempts + 1`, or `nil` to give up.
    ///
    /// - Parameters:
    ///   - failedAttempts: attempts made so far, all failed (≥ 1).
    ///   - elapsed: time since the first attempt started.
    ///   - random: the jitter source; inject a seeded generator for reproducible delays.
    package func delay(
        afterFailedAttempts failedAttempts: Int,
        elapsed: Duration,
        using random: inout some RandomNumberGenerator
    ) -> Duration? {
        if let maximumAttempts, failedAttempts >= maximumAttempts { return nil }
        let base = baseDelay(afterFailedAttempts: failedAttempts)
        let jittered = base * (1 - jitter * Double.random(in: 0..<1, using: &random))
        guard let deadline else { return jittered }
        let remaining = deadline - elapsed
        if remaining <= .zero { return nil }
        return min(jittered, remaining)
    }

    /// `delay(afterFailedAttempts:elapsed:using:)` with the system's random source.
    package func delay(afterFailedAttempts failedAttempts: Int, elapsed: Duration) -> Duration? {
        var random = SystemRandomNumberGenerator()
        return delay(afterFailedAttempts: failedAttempts, elapsed: elapsed, using: &random)
    }
}
