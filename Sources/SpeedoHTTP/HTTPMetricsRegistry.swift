package import Metrics
package import Prometheus
import Synchronization

/// A server's metrics, kept in a registry of its own (not the process-wide `MetricsSystem`, which can be
/// bootstrapped only once per process) and served by `GET /metrics` in Prometheus' text format.
package final class HTTPMetricsRegistry: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// Makes the server's own metrics in this registry.
    package let factory: PrometheusMetricsFactory
    /// Counters by route and status, made on first use: the registry's own lookup takes a lock and hashes labels.
    private let requestCounters = Mutex<[RequestKey: Metrics.Counter]>([:])

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    package init(durationBuckets: [Duration]? = nil) {
        var factory = PrometheusMetricsFactory(registry: registry)
        if let durationBuckets { factory.defaultDurationHistogramBuckets = durationBuckets }
        self.factory = factory
    }

    /// A counter in this registry; `outcome` tells apart the outcomes counted under one name (accepted, rejected, …).
    package func counter(_ label: String, outcome: String? = nil) -> Metrics.Counter {
        Metrics.Counter(label: label, dimensions: outcome.map { [("outcome", $0)] } ?? [], factory: factory)
    }

    package func gauge(_ label: String) -> Metrics.Gauge {
        Metrics.Gauge(label: label, factory: factory)
    }

    /// `route` is one of the API's paths, or `other`, so that scanners cannot grow the label set.
    package func countRequest(route: String, status: Int) {
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

    /// The Prometheus text exposition of every metric made with `factory`.
    package func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }
}

extension Metrics.Counter {
    /// Adds `count`, skipping the counter's lock when there is nothing to add: a batch's report names every outcome,
    /// and most of them did not occur.
    package func add(_ count: Int) {
        if count > 0 { increment(by: count) }
    }
}
