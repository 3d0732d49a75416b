import Metrics
import Prometheus
import Synchronization

/// The HTTP mode's metrics, kept in a registry of its own (not the process-wide `MetricsSystem`, which can be
/// bootstrapped only once per process) and served by `GET /metrics` in Prometheus' text format.
final class IngestHTTPMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Counters by route and status, made on first use: the registry's own lookup takes a lock and hashes labels.
    private let requestCounters = Mutex<[RequestKey: Metrics.Counter]>([:])
    private let acceptedReadings: Metrics.Counter
    private let rejectedReadings: Metrics.Counter
    private let unconfirmedReadings: Metrics.Counter
    private let deliveryLatency: Metrics.Timer
    private let outstandingRecords: Metrics.Gauge

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Deliveries to a healthy cluster take about a millisecond; the top buckets reach the delivery timeout.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.factory = factory
        let readings = "speedo_http_readings_total"
        acceptedReadings = Metrics.Counter(label: readings, dimensions: [("outcome", "accepted")], factory: factory)
        rejectedReadings = Metrics.Counter(label: readings, dimensions: [("outcome", "rejected")], factory: factory)
        unconfirmedReadings = Metrics.Counter(label: readings, dimensions: [("outcome", "unconfirmed")], factory: factory)
        deliveryLatency = Metrics.Timer(label: "speedo_http_delivery_duration_seconds", factory: factory)
        outstandingRecords = Metrics.Gauge(label: "speedo_producer_outstanding_records", factory: factory)
    }

    /// `route` is one of the API's paths, or `other`, so that scanners cannot grow the label set.
    func countRequest(route: String, status: Int) {
        let key = RequestKey(route: route, status: status)
        let counter = requestCounters.withLock { counters in
            if let known = counters[key] { return known }
            let made = Metrics.Counter(
                label: "speedo_http_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    func countReadings(accepted: Int, rejected: Int, unconfirmed: Int) {
        if accepted > 0 { acceptedReadings.increment(by: accepted) }
        if rejected > 0 { rejectedReadings.increment(by: rejected) }
        if unconfirmed > 0 { unconfirmedReadings.increment(by: unconfirmed) }
    }

    /// From handing a request's readings to the producer until the last of them was reported.
    func recordDelivery(_ duration: Duration) {
        deliveryLatency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// The Prometheus text exposition, with the producer's queue depth read now (librdkafka's out-queue: records
    /// not yet acknowledged, plus the protocol requests in flight).
    func exposition(outstandingRecords outstanding: Int) -> [UInt8] {
        outstandingRecords.record(outstanding)
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }
}
