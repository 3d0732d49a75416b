import Foundation
import Metrics
package import SpeedoHTTP
package import SpeedoRuntime
package import SpeedoStore

/// `consume postgres --metrics-listen`: what the writer stored, what it sent to the dead-letter topic, how often it had
/// to retry a batch, and how far behind the topic it is, in Prometheus' text format at `GET /metrics`; and whether it
/// can do its work, at `GET /healthz`.
package final class HistoryMetrics: MetricsEndpoint {
    package let registry = HTTPMetricsRegistry()
    package let command = "consume postgres"
    package let heartbeat: Heartbeat
    /// Set by the pump's threads, read by the server's.
    private let readiness: Readiness
    private let insertedRows: Metrics.Counter
    private let rowsAlreadyStored: Metrics.Counter
    private let conflictingRows: Metrics.Counter
    private let gaps: Metrics.Counter
    private let missingRecords: Metrics.Counter
    private let deadLetters: Metrics.Counter
    private let batches: Metrics.Counter
    private let storeRetries: Metrics.Counter
    private let lag: Metrics.Gauge
    private let assignedPartitions: Metrics.Gauge
    private let lastStored: Metrics.Gauge

    /// `heartbeat`: the pump's (`ConsumeSettings.heartbeat`).
    package init(brokers: String, topic: String, heartbeat: Heartbeat) {
        self.heartbeat = heartbeat
        readiness = Readiness(starting: "connecting to PostgreSQL and the brokers", brokers: brokers, topic: topic)
        readiness.set(["lag_records": 0, "assigned_partitions": 0])
        let factory = registry.factory
        let rows = "speedo_history_rows_total"
        insertedRows = Metrics.Counter(label: rows, dimensions: [("outcome", "inserted")], factory: factory)
        rowsAlreadyStored = Metrics.Counter(label: rows, dimensions: [("outcome", "already_stored")], factory: factory)
        conflictingRows = Metrics.Counter(label: rows, dimensions: [("outcome", "conflict")], factory: factory)
        gaps = Metrics.Counter(label: "speedo_history_gaps_total", factory: factory)
        missingRecords = Metrics.Counter(label: "speedo_history_missing_records_total", factory: factory)
        deadLetters = Metrics.Counter(label: "speedo_history_dead_letters_total", factory: factory)
        batches = Metrics.Counter(label: "speedo_history_batches_total", factory: factory)
        storeRetries = Metrics.Counter(label: "speedo_history_store_retries_total", factory: factory)
        lag = Metrics.Gauge(label: "speedo_history_lag_records", factory: factory)
        assignedPartitions = Metrics.Gauge(label: "speedo_history_assigned_partitions", factory: factory)
        lastStored = Metrics.Gauge(label: "speedo_history_last_stored_timestamp_seconds", factory: factory)
    }

    /// A batch committed: its rows (new, already there or conflicting), the gaps recorded with it, and the dead
    /// letters confirmed before it.
    package func recordStored(_ result: HistoryWriteResult, gaps gapCount: Int, deadLetters letters: Int) {
        if result.inserted > 0 { insertedRows.increment(by: result.inserted) }
        let alreadyStored = result.rows - result.inserted - result.conflicts
        if alreadyStored > 0 { rowsAlreadyStored.increment(by: alreadyStored) }
        if result.conflicts > 0 { conflictingRows.increment(by: result.conflicts) }
        if result.missingRecords > 0 {
            gaps.increment(by: gapCount)
            missingRecords.increment(by: result.missingRecords)
        }
        if letters > 0 { deadLetters.increment(by: letters) }
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

    /// The writer cannot reach what it needs (PostgreSQL, or the brokers for dead letters) and keeps trying.
    package func recordUnavailable(_ problem: String) {
        readiness.unavailable(problem)
    }

    /// The writer is connected, and reached PostgreSQL (again).
    package func recordAvailable() {
        readiness.available()
    }

    /// Records of the assigned partitions not stored yet (high watermark less stored offset, summed), and how many
    /// partitions this member has.
    package func recordPosition(lag records: Int64, assignedPartitions count: Int) {
        lag.record(records)
        assignedPartitions.record(count)
        readiness.set(["lag_records": Int(records), "assigned_partitions": count])
    }

    /// `GET /readyz`: 200 while the writer stores, 503 while it starts or cannot reach PostgreSQL (or the brokers, for
    /// the dead-letter topic), with the reason; the lag and the partitions held as `/metrics` last had them.
    package var health: HealthReport { readiness.report }
}
