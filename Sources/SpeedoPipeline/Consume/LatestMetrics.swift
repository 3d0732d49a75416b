import Foundation
import Metrics
package import SpeedoHTTP
package import SpeedoRuntime

/// `consume latest --metrics-listen`: the readings folded, the states published to speed-latest, the records sent to
/// the dead-letter topic and how far behind the topic the group is, in Prometheus' text format at `GET /metrics`;
/// whether it can do its work at `GET /readyz`.
package final class LatestMetrics: MetricsEndpoint {
    package let parts: MetricsEndpointParts
    private let readings, statesPublished, deadLetters: Metrics.Counter
    private let position: GroupPosition
    private let sensors: Metrics.Gauge

    /// `heartbeat`: the pump's (`ConsumeSettings.heartbeat`).
    package init(brokers: String, topic: String, heartbeat: Heartbeat) {
        parts = MetricsEndpointParts(
            command: "consume latest", starting: "connecting to the brokers", brokers: brokers, topic: topic,
            heartbeat: heartbeat)
        parts.readiness.set(["sensors": 0])
        position = GroupPosition(metricsPrefix: "speedo_latest", endpoint: parts)
        let registry = parts.registry
        readings = registry.counter("speedo_latest_readings_total")
        statesPublished = registry.counter("speedo_latest_states_published_total")
        deadLetters = registry.counter("speedo_latest_dead_letters_total")
        sensors = registry.gauge("speedo_latest_sensors")
    }

    /// What the pump did since the previous call: readings folded, states published, dead letters confirmed sent.
    package func record(readings folded: Int, published: Int, deadLetters letters: Int) {
        readings.add(folded)
        statesPublished.add(published)
        deadLetters.add(letters)
    }

    /// Records not committed yet (summed over the assigned partitions), the partitions held and the sensors known.
    package func recordPosition(lag records: Int64, assignedPartitions count: Int, sensors known: Int) {
        sensors.record(known)
        position.record(lag: records, assignedPartitions: count, also: ["sensors": known])
    }
}
