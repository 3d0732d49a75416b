import Foundation
package import Hummingbird
import Metrics
import Prometheus
import SpeedoCore
import SpeedoRuntime
package import SpeedoStore

/// `consume postgres --metrics-listen`: what the writer stored, what it sent to the dead-letter topic, how often it had
/// to retry a batch, and how far behind the topic it is, in Prometheus' text format at `GET /metrics`.
package final class HistoryMetrics: Sendable {
    private let registry = HTTPMetricsRegistry()
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

    package func countRequest(route: String, status: Int) {
        registry.countRequest(route: route, status: status)
    }

    package func exposition() -> [UInt8] {
        registry.exposition()
    }
}

/// The metrics server's one resource.
package struct HistoryMetricsResponder: HTTPResponder {
    package typealias Context = BasicRequestContext

    package let metrics: HistoryMetrics

    package init(
        metrics: HistoryMetrics
    ) {
        self.metrics = metrics
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        let (route, answer): (String, HTTPAnswer) = switch (request.uri.path, request.method) {
        case ("/metrics", .get):
            ("/metrics", HTTPReply.body(.ok, metrics.exposition(), contentType: HTTPReply.prometheusContentType))
        case ("/metrics", _):
            ("/metrics", HTTPRefusal.methodNotAllowed(allow: "GET").answer)
        default:
            ("other", HTTPReply.error(.notFound, "not-found", "no such resource; this server has GET /metrics only"))
        }
        metrics.countRequest(route: route, status: answer.status.code)
        return answer.response
    }
}
