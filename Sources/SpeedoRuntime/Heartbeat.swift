import Synchronization

/// An engine's loop says that it turns; `/livez` asks whether it did lately. A loop that waits on purpose (for a
/// broker, for PostgreSQL, between retries) still beats, so an outage of either never makes the process look dead
/// to a liveness probe (which would only add restarts to the outage); a loop stuck for good does not.
package final class Heartbeat: Sendable {
    /// How long without a beat before the loop counts as stuck: by default well above the longest wait between two
    /// beats (a retry's pause is at most 5 s, a poll at most 1 s).
    package let limit: Duration

    private let lastBeat = Mutex(ContinuousClock.now)

    package init(limit: Duration = .seconds(60)) {
        self.limit = limit
    }

    package func beat() {
        lastBeat.withLock { $0 = .now }
    }

    /// nil while the loop turns; else what `/livez` says.
    package var stall: String? {
        let silence = ContinuousClock.now - lastBeat.withLock { $0 }
        guard silence > limit else { return nil }
        return "the work loop has not turned for \(silence.secondsText) (more than \(limit.secondsText))"
    }
}
