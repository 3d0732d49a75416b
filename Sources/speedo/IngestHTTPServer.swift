import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import SpeedoCore
import SpeedoKafka
import SpeedoStore

extension Ingest {
    /// `speedo ingest --listen`: runs the HTTP ingestion API until SIGTERM or SIGINT, then stops accepting
    /// connections, lets the requests in flight get their deliveries confirmed and answered, closes the producer and
    /// exits 130 (75 when a record could still not be confirmed).
    func serveHTTP() async throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: nil)
        let (host, port) = try http.listenAddress()
        let deliveryTimeout = try http.parsedDeliveryTimeout()
        let responderSettings = IngestHTTPResponder.Settings(
            maximumBodySize: try http.maximumBodySize(), deliveryTimeout: deliveryTimeout,
            authentication: BearerTokenCheck(token: try http.bearerToken()), accessLog: http.accessLog, brokers: settings.brokers.value,
            topic: settings.topic.value)

        let publishing = self.publishing
        // Batches await every acknowledgement, so the HTTP mode needs the report of every record.
        let publisher = try await runOnDedicatedThread(name: "speedo-connect") {
            try ReadingPublisher.connected(
                settings: settings, options: publishing, command: "ingest", interrupts: nil,
                defaults: IngestHTTPServer.producerDefaults(deliveryTimeout: deliveryTimeout),
                streamingReports: .everyRecord)
        }
        let health = BrokerHealth(publisher: publisher, interval: IngestHTTPServer.healthProbeInterval, initial: .reachable)

        let application = HTTPServing.makeApplication(
            host: host, port: port,
            responder: IngestHTTPResponder(
                settings: responderSettings, publisher: publisher, health: health, metrics: IngestHTTPMetrics()),
            onListening: { address in
                Terminal.note(
                    "listening on http://\(address), publishing to \(settings.topic.value) at \(settings.brokers.value)")
            })
        do {
            try await application.runService()
        } catch {
            throw CommandFailure(.unavailable, "cannot serve HTTP on \(http.listen ?? ""): \(error); is the port in use?")
        }

        let undelivered = try await runOnDedicatedThread(name: "speedo-close") {
            health.stop()
            return publisher.close(flushTimeout: deliveryTimeout)
        }
        guard undelivered == 0 else {
            throw CommandFailure(.notDelivered, "stopped with \(undelivered) record(s) not confirmed by the broker")
        }
        Terminal.note("speedo ingest: stopped on a signal; every accepted reading was delivered")
        throw ExitCode(SpeedoExitCode.interrupted.rawValue)
    }
}

enum IngestHTTPServer {
    static let healthProbeInterval = Duration.seconds(2)

    /// Overrides of `ReadingPublisher.producerDefaults` for the HTTP mode, before the operator's -X properties
    /// (which win). Each request waits for its acknowledgements, so batching delay is latency every client pays: with
    /// no linger, what arrives while a produce request is in flight still forms the next batch, and side by side with
    /// 1 ms it served 17-20 % more requests a second (bench/README.md).
    static func producerDefaults(deliveryTimeout: Duration) -> [(String, String)] {
        [
            ("message.timeout.ms", String(max(1, deliveryTimeout / .milliseconds(1)))),
            ("linger.ms", "0"),
        ]
    }
}
