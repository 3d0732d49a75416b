import Foundation
import SpeedoCore
import SpeedoRuntime

/// How `consume postgres` waits out a failure that passes (PostgreSQL restarting, a broker away) while reading stored
/// offsets or storing a batch: growing pauses, each said on stderr, and no last attempt, because nothing may be
/// skipped. One per operation being retried.
struct HistoryRetry {
    private static let policy = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(5), jitter: 0.2,
        maximumAttempts: nil, deadline: nil)

    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var failures = 0

    init() {
        started = clock.now
    }

    /// Whether a pause was taken: the operation failed at least once.
    var hasFailed: Bool { failures > 0 }

    /// Says `problem` on `notes` with the pause it takes, then sleeps that pause; the retrying loop is alive.
    mutating func pause(after problem: String, notes: Notes, heartbeat: Heartbeat) {
        heartbeat.beat()
        failures += 1
        let delay = Self.policy.delay(afterFailedAttempts: failures, elapsed: clock.now - started) ?? Self.policy.maximumDelay
        notes.note("speedo: \(problem); retrying in \(String(format: "%.1f", delay.inSeconds)) s")
        Thread.sleep(forTimeInterval: delay.inSeconds)
    }
}
