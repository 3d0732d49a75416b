/// Where a run of readings goes (simulate, replay): standard output, the ingestion API over HTTP, a Kafka producer,
/// PostgreSQL.
/// A run's pacing never depends on which.
package protocol ReadingSink {
    /// Delivers `batch`, in order, before returning; blocking here is how a slow output holds the run
    /// back (the schedule then catches up in bigger batches).
    /// - Returns: `.closed` when the receiving end went away on purpose (a pipe into `head`): the run
    ///   stops cleanly.
    /// - Throws: when the batch could not be delivered; the run stops with that error.
    mutating func write(_ batch: [Reading]) throws -> SinkState

    /// Delivers whatever is still buffered; called once when the run ends, unless a write threw.
    mutating func finish() throws
}

package enum SinkState: Sendable, Equatable {
    case open
    case closed
}

/// The monotonic clock a run is paced by; tests pass one they advance themselves.
package protocol PacingClock {
    /// Time since the run's start.
    func elapsed() -> Duration
    /// Waits until `elapsed()` reaches `deadline`, or returns earlier (a signal, a maximum wait):
    /// the run checks whether it was interrupted and asks the schedule again.
    func wait(until deadline: Duration)
}
