import Metrics
package import SpeedoCore
package import SpeedoHTTP
import Synchronization

/// `speedo gateway`'s metrics, served by `GET /metrics` (`HTTPOperations`) with the request counts every speedo
/// server keeps.
package final class GatewayMetrics: Sendable {
    package let registry = HTTPMetricsRegistry()
    private let connections: Metrics.Gauge
    private let messagesSent: Metrics.Counter
    private let updatesCoalesced: Metrics.Counter
    private let slowClientsDropped: Metrics.Counter
    private let validStates: Metrics.Counter
    private let invalidStates: Metrics.Counter
    /// From each state's record time (its reading's) to its arrival here, over the last five seconds, as `watch`
    /// shows it in its status line (`FeedMeter`): the delay every client gets before its own socket. Shown at most
    /// once a second while states arrive, and not at all before the first (a 0 would read as no delay).
    private let deliveryLag = Mutex(DeliveryLag())

    private struct DeliveryLag {
        var meter = FeedMeter(startedAt: .current())
        var nextShown = Timestamp(microseconds: .min)
        /// Made the first time there is a lag to show, so that the metric is absent until then.
        var gauges: (p50: Metrics.Gauge, p99: Metrics.Gauge)?
    }

    package init() {
        connections = registry.gauge("speedo_gateway_connections")
        messagesSent = registry.counter("speedo_gateway_messages_sent_total")
        updatesCoalesced = registry.counter("speedo_gateway_updates_coalesced_total")
        slowClientsDropped = Metrics.Counter(
            label: "speedo_gateway_clients_dropped_total", dimensions: [("reason", "slow")], factory: registry.factory)
        let states = "speedo_gateway_states_received_total"
        validStates = registry.counter(states, outcome: "valid")
        invalidStates = registry.counter(states, outcome: "invalid")
        connections.record(0)
    }

    package func connectionsChanged(to count: Int) { connections.record(count) }

    package func countSent(_ messages: Int) {
        messagesSent.add(messages)
    }

    /// Updates a client did not get because a newer state of the same sensor came before they could be sent.
    package func countCoalesced(_ updates: Int) {
        updatesCoalesced.add(updates)
    }

    package func countDropped() { slowClientsDropped.increment() }

    package func countReceived(valid: Int, invalid: Int) {
        validStates.add(valid)
        invalidStates.add(invalid)
    }

    /// States that arrived at `now` once the feed had caught up (what it back-fills is history, not delay), each with
    /// its record time.
    package func recordDelivery(recordTimesMs: [Int64], at now: Timestamp) {
        guard !recordTimesMs.isEmpty else { return }
        let shown: [(Metrics.Gauge, Double)] = deliveryLag.withLock { lag in
            for time in recordTimesMs { lag.meter.record(lagMilliseconds: now.milliseconds - time, at: now) }
            guard now >= lag.nextShown else { return [] }
            lag.nextShown = now + .seconds(1)
            let recent = lag.meter.recent(at: now)
            guard let p50 = recent.lagP50Milliseconds, let p99 = recent.lagP99Milliseconds else { return [] }
            let gauges = lag.gauges ?? (p50: lagGauge(quantile: "0.5"), p99: lagGauge(quantile: "0.99"))
            lag.gauges = gauges
            return [(gauges.p50, p50), (gauges.p99, p99)]
        }
        for (gauge, milliseconds) in shown { gauge.record(milliseconds / 1_000) }
    }

    private func lagGauge(quantile: String) -> Metrics.Gauge {
        Metrics.Gauge(
            label: "speedo_gateway_delivery_lag_seconds", dimensions: [("quantile", quantile)],
            factory: registry.factory)
    }
}
