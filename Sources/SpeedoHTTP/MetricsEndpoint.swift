package import Hummingbird
package import SpeedoRuntime
import Synchronization

/// What a command whose work is not HTTP (`consume postgres`, `consume latest`) serves with `--metrics-listen`: its
/// metrics at `GET /metrics` and its health at the probes, through `HTTPOperations` like every server of speedo.
package protocol MetricsEndpoint: Sendable {
    var parts: MetricsEndpointParts { get }
}

/// What every metrics endpoint has, whatever the command's own metrics.
package struct MetricsEndpointParts: Sendable {
    package let registry = HTTPMetricsRegistry()
    /// `/readyz` (and `/healthz`): whether the command can do its work now, set by the engine's threads.
    package let readiness: Readiness
    /// The command, as its lines on stderr name it (`consume postgres`).
    package let command: String
    /// The engine's loop, for `/livez`.
    package let heartbeat: Heartbeat

    /// `starting`: what `/readyz` says until the engine says more (`Readiness`).
    package init(command: String, starting: String, brokers: String, topic: String, heartbeat: Heartbeat) {
        self.command = command
        readiness = Readiness(starting: starting, brokers: brokers, topic: topic)
        self.heartbeat = heartbeat
    }
}

extension MetricsEndpoint {
    package var registry: HTTPMetricsRegistry { parts.registry }
    package var readiness: Readiness { parts.readiness }
    package var command: String { parts.command }
    package var heartbeat: Heartbeat { parts.heartbeat }
    package var health: HealthReport { readiness.report }

    /// The engine reached what it needs (the brokers, PostgreSQL), or sent what it could not send before.
    package func recordAvailable() {
        readiness.available()
    }

    /// The engine cannot reach what it needs (or send a dead letter, a commit) and keeps trying; `problem` says why,
    /// and `/readyz` says it until `recordAvailable`.
    package func recordUnavailable(_ problem: String) {
        readiness.unavailable(problem)
    }

    /// Serves the endpoint on `listen` while `work` (the command's engine) runs: `work` starts once the server
    /// listens, and the server stops as every server of speedo stops (`HTTPServerLifecycle`) when `work` returns or
    /// throws.
    package func serving<Outcome: Sendable>(
        on listen: HTTPListenAddress, notes: Notes, while work: @escaping @Sendable () async throws -> Outcome
    ) async throws -> Outcome {
        HTTPServing.warnIfExposed(
            host: listen.host, command: command, protected: false,
            advice: "its metrics name topics, partitions and lag: keep the port behind a firewall", notes: notes)
        let responder = MetricsResponder(endpoint: self)
        return try await HTTPServerLifecycle.run(
            on: listen, role: "metrics server",
            server: { listening in
                HTTPServing.makeApplication(
                    host: listen.host, port: listen.port, responder: responder, onListening: listening)
            },
            work: { address in
                notes.note("speedo: \(command): metrics at http://\(address)/metrics", fields: ["address": address])
                return try await work()
            })
    }
}

/// The metrics server: `GET /metrics` and the probes (`HTTPOperations`), no resource of its own, no token, no Host
/// check (no browser needs to reach it).
package struct MetricsResponder: AnsweringResponder {
    package let operations: HTTPOperations

    package init(endpoint: some MetricsEndpoint) {
        operations = HTTPOperations(
            resources: [], served: "this server has GET /metrics, GET /livez and GET /readyz (or /healthz)", hosts: nil,
            authentication: .none, metrics: endpoint.registry, health: { endpoint.health },
            stall: { endpoint.heartbeat.stall })
    }

    package func answer(resource request: Request) -> HTTPAnswer {
        // Unreached: with no resources of its own, every path is `HTTPOperations`' (/metrics, or not found).
        operations.notFound
    }
}

/// What a command's `/readyz` says, set by its engine's thread and read by the server's: starting, ok, or unavailable
/// with the reason, and the counts it adds (lag, partitions, …).
package final class Readiness: Sendable {
    private struct State {
        var condition: HealthReport.Condition
        var counts: [String: Int] = [:]
    }

    private let state: Mutex<State>
    private let brokers: String
    private let topic: String

    /// `starting`: what the command does before it can work (connecting to the brokers, …).
    package init(starting: String, brokers: String, topic: String) {
        state = Mutex(State(condition: .starting(starting)))
        (self.brokers, self.topic) = (brokers, topic)
    }

    /// The engine reached what it needs (again).
    package func available() {
        state.withLock { $0.condition = .ok }
    }

    /// The engine cannot reach what it needs and keeps trying; `problem` says what.
    package func unavailable(_ problem: String) {
        state.withLock { $0.condition = .unavailable(problem) }
    }

    package func set(_ counts: [String: Int]) {
        state.withLock { $0.counts.merge(counts) { $1 } }
    }

    package var report: HealthReport {
        let state = state.withLock { $0 }
        return HealthReport(state.condition, brokers: brokers, topic: topic, counts: state.counts)
    }
}
