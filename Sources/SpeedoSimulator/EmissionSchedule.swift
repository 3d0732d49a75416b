import SpeedoCore

/// When a run stops on its own; without one it runs until interrupted.
package enum StopCondition: Sendable, Equatable {
    /// This many readings in total, all sensors together.
    case count(Int64)
    /// The readings scheduled within this time from the start.
    case duration(Duration)
}

/// Which readings are due, paced against absolute deadlines.
///
/// Reading `n` is due `n / totalRate` seconds after the start: deadlines are computed from the start,
/// never by adding up sleeps, so a long run does not drift. The sensors are spread evenly over each
/// period (sensor `i` reports at `i / totalRate` into it) rather than all at once. Readings go out in
/// batches on a grid of `tick`: at each grid point everything due by then is emitted. When the output
/// is slow, the next call finds more readings due and emits them in a bigger batch (up to
/// `maximumBatch` per step): the rate is kept, never silently lowered, and `lateness` tells how far
/// behind the schedule is.
///
/// Pure: it never reads a clock. The caller passes the time elapsed since the start and does what the
/// returned step says.
package struct EmissionSchedule: Sendable {
    package enum Step: Sendable, Equatable {
        /// Produce and write these readings now; `lateness` is how long ago the first of them was due.
        case emit(Range<Int64>, lateness: Duration)
        /// Nothing is due before this time since the start.
        case wait(until: Duration)
        /// Every reading was emitted and the last one's period is over.
        case finished
    }

    /// Readings per second, all sensors together.
    package let totalRate: Double
    /// Total readings of the run; nil until interrupted.
    package let limit: Int64?
    /// A reading waits for the next grid point after it is due: up to a tick of latency, which every hop after it
    /// adds to. 5 ms keeps that below the broker round trips of the live path (20 ms was a third of the 20,000/s
    /// p99: bench/README.md) at 200 wake-ups a second at most.
    package let tick: Duration
    package let maximumBatch: Int64
    /// Readings handed out so far.
    package private(set) var emitted: Int64 = 0
    package private(set) var maximumLateness: Duration = .zero

    private let tickMicroseconds: Int64

    package init(
        sensors: Int, ratePerSensor: Double, stop: StopCondition?, tick: Duration = .milliseconds(5),
        maximumBatch: Int64 = 10_000
    ) {
        precondition(sensors >= 1 && ratePerSensor > 0 && ratePerSensor.isFinite, "the rate must be positive")
        precondition(tick.microseconds >= 1 && maximumBatch >= 1, "tick and batch must be positive")
        totalRate = Double(sensors) * ratePerSensor
        self.tick = tick
        tickMicroseconds = tick.microseconds
        self.maximumBatch = maximumBatch
        switch stop {
        case .count(let count): limit = count
        case .duration(let duration):
            // Readings whose deadline lies before the end: n / rate < duration.
            limit = Int64((Double(duration.microseconds) * totalRate / 1_000_000).rounded(.up))
        case nil: limit = nil
        }
    }

    /// When reading `index` is due, from the start, to the microsecond.
    package func offset(of index: Int64) -> Duration {
        .microseconds(offsetMicroseconds(index))
    }

    private func offsetMicroseconds(_ index: Int64) -> Int64 {
        Int64((Double(index) * 1_000_000 / totalRate).rounded())
    }

    /// How many readings are due by `microseconds` after the start: the smallest `n` with `offset(n) > t`.
    private func readingsDue(by microseconds: Int64) -> Int64 {
        var count = max(0, Int64((Double(microseconds) * totalRate / 1_000_000).rounded(.down)) + 1)
        // The estimate is off by a little where rounding to microseconds decides (by more than one only
        // above a million readings per second, when several share a microsecond).
        while count > 0, offsetMicroseconds(count - 1) > microseconds { count -= 1 }
        while offsetMicroseconds(count) <= microseconds { count += 1 }
        return count
    }

    /// What to do at `now` (time since the start, from a monotonic clock).
    package mutating func next(at now: Duration) -> Step {
        let nowMicroseconds = now.microseconds
        if let limit, emitted >= limit {
            let end = offset(of: limit)
            return now >= end ? .finished : .wait(until: end)
        }
        let gridPoint = nowMicroseconds - nowMicroseconds % tickMicroseconds
        var due = readingsDue(by: gridPoint)
        if let limit { due = min(due, limit) }
        guard due > emitted else {
            let deadline = offsetMicroseconds(emitted)
            let ticks = (deadline + tickMicroseconds - 1) / tickMicroseconds
            return .wait(until: .microseconds(ticks * tickMicroseconds))
        }
        let batch = emitted..<min(due, emitted + maximumBatch)
        let lateness = now - offset(of: emitted)
        maximumLateness = max(maximumLateness, lateness)
        emitted = batch.upperBound
        return .emit(batch, lateness: lateness)
    }
}
