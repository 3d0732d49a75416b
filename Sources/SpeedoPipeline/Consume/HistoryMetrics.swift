import Foundation
package import Hummingbird
import Metrics
package import SpeedoHTTP
package import SpeedoRuntime
package import SpeedoStore

/// `consume postgres --metrics-listen`: what the writer stored, what it sent to the dead-letter topic, how often it had
/// to retry a batch, and how far behind the topic it is, in Prometheus' text format at `GET /metrics`.
package final class HistoryMetrics: Sendable {
    package let registry = HTTPMetricsRegistry()
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

    package init() {
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
    }

    /// A batch that could not be stored (PostgreSQL or the brokers unreachable) and will be tried again.
    package func recordRetry() {
        storeRetries.increment()
    }

    /// Records of the assigned partitions not stored yet (high watermark less stored offset, summed), and how many
    /// partitions this member has.
    package func recordPosition(lag records: Int64, assignedPartitions count: Int) {
        lag.record(records)
        assignedPartitions.record(count)
    }
}

extension HistoryMetrics {
    /// Serves these metrics at `GET /metrics` on `listen` while `work` (the writer) runs: `work` starts once the
    /// server listens, and the server stops as every server of speedo stops (`HTTPServerLifecycle`) when `work`
    /// returns or throws.
    package func serving<Outcome: Sendable>(
        on listen: HTTPListenAddress, notes: Notes, while work: @escaping @Sendable () async throws -> Outcome
    ) async throws -> Outcome {
        HTTPServing.warnIfExposed(
            host: listen.host, command: "consume postgres", protected: false,
            advice: "its metrics name topics, partitions and lag: keep the port behind a firewall", notes: notes)
        return try await HTTPServerLifecycle.run(
            on: listen, role: "metrics server",
            server: { listening in
                HTTPServing.makeApplication(
                    host: listen.host, port: listen.port, responder: HistoryMetricsResponder(metrics: self),
                    onListening: listening)
            },
            work: { address in
                notes.note("speedo: consume postgres: metrics at http://\(address)/metrics")
                return try await work()
            })
    }
}

/// The metrics server's one resource, `GET /metrics` (`HTTPOperations`); no `/healthz`, no token, no Host check.
package struct HistoryMetricsResponder: AnsweringResponder {
    package let operations: HTTPOperations

    package init(metrics: HistoryMetrics) {
        operations = HTTPOperations(
            resources: [], served: "this server has GET /metrics only", hosts: nil, authentication: .none,
            metrics: metrics.registry, health: nil)
    }

    package func answer(resource request: Request) -> HTTPAnswer {
        // Unreached: with no resources of its own, every path is `HTTPOperations`' (/metrics, or not found).
        operations.notFound
    }
}
