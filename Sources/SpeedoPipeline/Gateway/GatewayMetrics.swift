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
    private let deliveryLag = Mutex((meter: FeedMeter(startedAt: .current()), nextShown: Timestamp(microseconds: .min)))
    private static let deliveryLagLabel = "speedo_gateway_delivery_lag_seconds"

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
        let shown: FeedMeter.Recent? = deliveryLag.withLock { lag in
            for time in recordTimesMs { lag.meter.record(lagMilliseconds: now.milliseconds - time, at: now) }
            guard now >= lag.nextShown else { return nil }
            lag.nextShown = now + .seconds(1)
            return lag.meter.recent(at: now)
        }
        for (quantile, milliseconds) in [("0.5", shown?.lagP50Milliseconds), ("0.99", shown?.lagP99Milliseconds)] {
            guard let milliseconds else { continue }
            Metrics.Gauge(label: Self.deliveryLagLabel, dimensions: [("quantile", quantile)], factory: registry.factory)
                .record(milliseconds / 1_000)
        }
    }
}
