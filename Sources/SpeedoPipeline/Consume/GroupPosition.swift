import Metrics
import SpeedoHTTP

/// How far behind its topic a consume command's member is, the same way for `consume postgres` and `consume latest`:
/// the records of its partitions not done yet and how many partitions it holds, as `<prefix>_lag_records` and
/// `<prefix>_assigned_partitions` at `/metrics` and as `lag_records` and `assigned_partitions` at `/readyz`.
struct GroupPosition: Sendable {
    private let lag: Metrics.Gauge
    private let assignedPartitions: Metrics.Gauge
    private let readiness: Readiness

    init(metricsPrefix prefix: String, endpoint: MetricsEndpointParts) {
        lag = endpoint.registry.gauge("\(prefix)_lag_records")
        assignedPartitions = endpoint.registry.gauge("\(prefix)_assigned_partitions")
        readiness = endpoint.readiness
        readiness.set(["lag_records": 0, "assigned_partitions": 0])
    }

    /// `also`: what else `/readyz` says beside them (the sensors known, …).
    func record(lag records: Int64, assignedPartitions count: Int, also counts: [String: Int] = [:]) {
        lag.record(records)
        assignedPartitions.record(count)
        readiness.set(counts.merging(["lag_records": Int(records), "assigned_partitions": count]) { $1 })
    }
}
