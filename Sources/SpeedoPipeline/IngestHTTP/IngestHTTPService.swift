import Foundation
package import SpeedoCore
package import SpeedoHTTP
import SpeedoKafka
package import SpeedoRuntime

/// `ingest --listen`: the HTTP ingestion API from start to stop. Connects the producer (waiting for the brokers),
/// serves `IngestHTTPResponder` on the raw SwiftNIO server (`RawHTTPServer`) until `stop` is requested, then stops
/// the way every server of speedo stops (`HTTPServerLifecycle`): no new connections, the requests in flight get their
/// deliveries confirmed and answered, and the producer is flushed and closed.
package enum IngestHTTPService {
    package static let healthProbeInterval = Duration.seconds(2)

    /// Overrides of `ReadingPublisher.producerDefaults` for the HTTP mode, before the operator's -X properties
    /// (which win). Each request waits for its acknowledgements, so batching delay is latency every client pays: with
    /// no linger, what arrives while a produce request is in flight still forms the next batch, and side by side with
    /// 1 ms it served 17-20 % more requests a second (bench/README.md).
    package static func producerDefaults(deliveryTimeout: Duration) -> [(String, String)] {
        [
            ("message.timeout.ms", String(max(1, deliveryTimeout.clampedMilliseconds))),
            ("linger.ms", "0"),
        ]
    }

    /// How the API stopped.
    package struct Outcome: Sendable, Equatable {
        /// Accepted records the broker had still not confirmed when the producer was closed.
        package var undelivered: Int
    }

    /// Runs the API on `listen` until `stop` is requested. `responder`'s brokers and topic are those of `connection`;
    /// notes (the address, warnings, `--access-log`) go to `notes`.
    package static func run(
        connection: ConnectionSettings, publishing: PublishingSettings, listen: HTTPListenAddress,
        limits: HTTPConnectionLimits, responder settings: IngestHTTPResponder.Settings, stop: StopRequest, notes: Notes
    ) async throws -> Outcome {
        // Batches await every acknowledgement, so the HTTP mode needs the report of every record.
        let publisher = try await runOnDedicatedThread(name: "speedo-connect") {
            try ReadingPublisher.connected(
                settings: connection, options: publishing, command: "ingest", stop: stop, notes: notes,
                defaults: producerDefaults(deliveryTimeout: settings.deliveryTimeout), streamingReports: .everyRecord)
        }
        let health = BrokerHealth(publisher: publisher, interval: healthProbeInterval, initial: .reachable)
        let responder = IngestHTTPResponder(
            settings: settings, publisher: publisher, health: health, metrics: IngestHTTPMetrics(), notes: notes)
        // Whether it served or could not listen, the producer is closed.
        var failure: (any Error)?
        do {
            try await HTTPServerLifecycle.run(
                on: listen, role: "HTTP ingestion API",
                server: { listening in
                    RawHTTPServer(host: listen.host, port: listen.port, limits: limits, listening: listening) {
                        IngestHTTPHandler(responder: responder)
                    }
                },
                work: { address in
                    notes.note("listening on http://\(address), publishing to \(connection.topic.value) at \(connection.brokers.value)")
                    HTTPServing.warnIfExposed(
                        host: listen.host, command: "ingest", protected: settings.authentication.isRequired, notes: notes)
                    await stop.requested()
                })
        } catch {
            failure = error
        }
        let undelivered = try await runOnDedicatedThread(name: "speedo-close") {
            health.stop()
            return publisher.close(flushTimeout: settings.deliveryTimeout)
        }
        if let failure { throw failure }
        return Outcome(undelivered: undelivered)
    }

    /// The API's server bound on `host:port`, without the rest of `run`: for tests that drive its shutdown themselves.
    package static func listen(
        host: String, port: Int, responder: IngestHTTPResponder, limits: HTTPConnectionLimits = .standard
    ) async throws -> RawHTTPListener {
        try await RawHTTPListener(host: host, port: port, limits: limits) { IngestHTTPHandler(responder: responder) }
    }
}
