import Foundation
import Metrics
package import SpeedoHTTP
package import SpeedoRuntime

/// `consume latest --metrics-listen`: the readings folded, the states published to speed-latest, the records sent to
/// the dead-letter topic and how far behind the topic the group is, in Prometheus' text format at `GET /metrics`;
/// whether it can do its work at `GET /readyz`.
package final class LatestMetrics: MetricsEndpoint {
    package let registry = HTTPMetricsRegistry()
    package let command = "consume latest"
    package let heartbeat: Heartbeat
    /// Set by the pump's thread, read by the server's.
    private let readiness: Readiness
    private let readings: Metrics.Counter
    private let statesPublished: Metrics.Counter
    private let deadLetters: Metrics.Counter
    private let lag: Metrics.Gauge
    private let assignedPartitions: Metrics.Gauge
    private let sensors: Metrics.Gauge

    /// `heartbeat`: the pump's (`ConsumeSettings.heartbeat`).
    package init(brokers: String, topic: String, heartbeat: Heartbeat) {
        self.heartbeat = heartbeat
        readiness = Readiness(starting: "connecting to the brokers", brokers: brokers, topic: topic)
        readiness.set(["lag_records": 0, "assigned_partitions": 0, "sensors": 0])
        let factory = registry.factory
        readings = Metrics.Counter(label: "speedo_latest_readings_total", factory: factory)
        statesPublished = Metrics.Counter(label: "speedo_latest_states_published_total", factory: factory)
        deadLetters = Metrics.Counter(label: "speedo_latest_dead_letters_total", factory: factory)
        lag = Metrics.Gauge(label: "speedo_latest_lag_records", factory: factory)
        assignedPartitions = Metrics.Gauge(label: "speedo_latest_assigned_partitions", factory: factory)
        sensors = Metrics.Gauge(label: "speedo_latest_sensors", factory: factory)
    }

    /// What the pump did since the previous call: readings folded, states published, dead letters confirmed sent.
    package func record(readings folded: Int, published: Int, deadLetters letters: Int) {
        if folded > 0 { readings.increment(by: folded) }
        if published > 0 { statesPublished.increment(by: published) }
        if letters > 0 { deadLetters.increment(by: letters) }
    }

    /// Records not committed yet (summed over the assigned partitions), the partitions held and the sensors known.
    package func recordPosition(lag records: Int64, assignedPartitions count: Int, sensors known: Int) {
        lag.record(records)
        assignedPartitions.record(count)
        sensors.record(known)
        readiness.set(["lag_records": Int(records), "assigned_partitions": count, "sensors": known])
    }

    /// The pump reached the brokers, or sent what it could not send before.
    package func recordAvailable() {
        readiness.available()
    }

    /// The pump cannot send what it must (a dead letter, a commit) and keeps trying.
    package func recordUnavailable(_ problem: String) {
        readiness.unavailable(problem)
    }

    /// 200 while the pump runs connected, 503 while it starts or cannot send, with the reason.
    package var health: HealthReport { readiness.report }
}
