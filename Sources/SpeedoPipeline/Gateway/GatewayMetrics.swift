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
        let factory = registry.factory
        connections = Metrics.Gauge(label: "speedo_gateway_connections", factory: factory)
        messagesSent = Metrics.Counter(label: "speedo_gateway_messages_sent_total", factory: factory)
        updatesCoalesced = Metrics.Counter(label: "speedo_gateway_updates_coalesced_total", factory: factory)
        slowClientsDropped = Metrics.Counter(
            label: "speedo_gateway_clients_dropped_total", dimensions: [("reason", "slow")], factory: factory)
        let states = "speedo_gateway_states_received_total"
        validStates = Metrics.Counter(label: states, dimensions: [("outcome", "valid")], factory: factory)
        invalidStates = Metrics.Counter(label: states, dimensions: [("outcome", "invalid")], factory: factory)
        connections.record(0)
    }

    package func connectionsChanged(to count: Int) { connections.record(count) }

    package func countSent(_ messages: Int) {
        if messages > 0 { messagesSent.increment(by: messages) }
    }

    /// Updates a client did not get because a newer state of the same sensor came before they could be sent.
    package func countCoalesced(_ updates: Int) {
        if updates > 0 { updatesCoalesced.increment(by: updates) }
    }

    package func countDropped() { slowClientsDropped.increment() }

    package func countReceived(valid: Int, invalid: Int) {
        if valid > 0 { validStates.increment(by: valid) }
        if invalid > 0 { invalidStates.increment(by: invalid) }
    }
}
