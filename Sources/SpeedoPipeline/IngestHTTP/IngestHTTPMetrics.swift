import Metrics
package import SpeedoHTTP
import Synchronization

/// The HTTP mode's metrics, served by `GET /metrics` (`HTTPOperations`) with the request counts every speedo server
/// keeps.
package final class IngestHTTPMetrics: Sendable {
    package let registry: HTTPMetricsRegistry
    private let acceptedReadings, rejectedReadings, unconfirmedReadings: Metrics.Counter
    private let deliveryLatency: Metrics.Timer
    private let outstandingRecords: Metrics.Gauge
    private let awaitingGauge: Metrics.Gauge
    private let awaiting = Atomic<Int>(0)

    package init() {
        // Deliveries to a healthy cluster take about a millisecond; the top buckets reach the delivery timeout.
        registry = HTTPMetricsRegistry(durationBuckets: [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ])
        let readings = "speedo_http_readings_total"
        acceptedReadings = registry.counter(readings, outcome: "accepted")
        rejectedReadings = registry.counter(readings, outcome: "rejected")
        unconfirmedReadings = registry.counter(readings, outcome: "unconfirmed")
        deliveryLatency = Metrics.Timer(label: "speedo_http_delivery_duration_seconds", factory: registry.factory)
        outstandingRecords = registry.gauge("speedo_producer_outstanding_records")
        awaitingGauge = registry.gauge("speedo_http_requests_awaiting_delivery")
    }

    package func countReadings(accepted: Int, rejected: Int, unconfirmed: Int) {
        acceptedReadings.add(accepted)
        rejectedReadings.add(rejected)
        unconfirmedReadings.add(unconfirmed)
    }

    /// Requests whose readings were handed to the producer and are waiting for their acknowledgements.
    package var requestsAwaitingDelivery: Int { awaiting.load(ordering: .relaxed) }

    /// A request's readings were handed to the producer; `deliveryFinished` follows once they were reported.
    package func deliveryStarted() {
        awaiting.add(1, ordering: .relaxed)
    }

    /// The request no longer awaits delivery; `duration` ran from handing its readings to the producer until the
    /// last of them was reported.
    package func deliveryFinished(after duration: Duration) {
        awaiting.subtract(1, ordering: .relaxed)
        deliveryLatency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Before an exposition: the producer's queue depth read now (librdkafka's out-queue: records not yet
    /// acknowledged, plus the protocol requests in flight), and the requests awaiting delivery.
    package func refresh(outstandingRecords outstanding: Int) {
        outstandingRecords.record(outstanding)
        awaitingGauge.record(requestsAwaitingDelivery)
    }
}
