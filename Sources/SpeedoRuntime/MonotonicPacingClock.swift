import Foundation
import SpeedoCore

/// The real clock a simulation is paced by: CLOCK_MONOTONIC (immune to wall-clock changes), and
/// sleeps to absolute deadlines, so that late wake-ups never add up.
package struct MonotonicPacingClock: PacingClock {
    private let origin: Duration

    /// A signal may be delivered to another thread and not interrupt the sleep: waking at least this
    /// often lets an interruption be noticed promptly.
    private static let longestSleep = Duration.milliseconds(100)

    package init() {
        origin = Self.now()
    }

    package func elapsed() -> Duration {
        Self.now() - origin
    }

    package func wait(until deadline: Duration) {
        let target = origin + min(deadline, elapsed() + Self.longestSleep)
        let (seconds, attoseconds) = target.components
        var time = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        // EINTR (a signal) simply ends the wait early; the caller asks again.
        _ = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil)
    }

    private static func now() -> Duration {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }
}
