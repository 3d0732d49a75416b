import Foundation
import Metrics
package import SpeedoHTTP
package import SpeedoRuntime
package import SpeedoStore

/// `consume postgres --metrics-listen`: what the writer stored, what it sent to the dead-letter topic, how often it had
/// to retry a batch, and how far behind the topic it is, in Prometheus' text format at `GET /metrics`; and whether it
/// can do its work, at `GET /healthz`.
package final class HistoryMetrics: MetricsEndpoint {
    package let parts: MetricsEndpointParts
    private let insertedRows, rowsAlreadyStored, conflictingRows: Metrics.Counter
    private let gaps, missingRecords, deadLetters, batches, storeRetries: Metrics.Counter
    private let position: GroupPosition
    private let lastStored: Metrics.Gauge

    /// `heartbeat`: the pump's (`ConsumeSettings.heartbeat`).
    package init(brokers: String, topic: String, heartbeat: Heartbeat) {
        parts = MetricsEndpointParts(
            command: "consume postgres", starting: "connecting to PostgreSQL and the brokers", brokers: brokers,
            topic: topic, heartbeat: heartbeat)
        position = GroupPosition(metricsPrefix: "speedo_history", endpoint: parts)
        let registry = parts.registry
        let rows = "speedo_history_rows_total"
        insertedRows = registry.counter(rows, outcome: "inserted")
        rowsAlreadyStored = registry.counter(rows, outcome: "already_stored")
        conflictingRows = registry.counter(rows, outcome: "conflict")
        gaps = registry.counter("speedo_history_gaps_total")
        missingRecords = registry.counter("speedo_history_missing_records_total")
        deadLetters = registry.counter("speedo_history_dead_letters_total")
        batches = registry.counter("speedo_history_batches_total")
        storeRetries = registry.counter("speedo_history_store_retries_total")
        lastStored = registry.gauge("speedo_history_last_stored_timestamp_seconds")
    }

    /// A batch committed: its rows (new, already there or conflicting), the gaps recorded with it, and the dead
    /// letters confirmed before it.
    package func recordStored(_ result: HistoryWriteResult, gaps gapCount: Int, deadLetters letters: Int) {
        insertedRows.add(result.inserted)
        let alreadyStored = result.rows - result.inserted - result.conflicts
        rowsAlreadyStored.add(alreadyStored)
        conflictingRows.add(result.conflicts)
        if result.missingRecords > 0 {
            gaps.increment(by: gapCount)
            missingRecords.increment(by: result.missingRecords)
        }
        deadLetters.add(letters)
        batches.increment()
        lastStored.record(Date().timeIntervalSince1970)
        recordAvailable()
    }

    /// A batch that could not be stored (PostgreSQL or the brokers unreachable) and will be tried again: `problem`
    /// says why, and `/healthz` says it until a batch is stored.
    package func recordRetry(_ problem: String) {
        storeRetries.increment()
        recordUnavailable(problem)
    }

    /// Records of the assigned partitions not stored yet (high watermark less stored offset, summed), and how many
    /// partitions this member has.
    package func recordPosition(lag records: Int64, assignedPartitions count: Int) {
        position.record(lag: records, assignedPartitions: count)
    }
}
