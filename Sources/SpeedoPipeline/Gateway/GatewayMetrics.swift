import Metrics
package import SpeedoHTTP

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
}
