import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import SpeedoCore
import SpeedoKafka

/// `speedo ingest --listen`: runs the HTTP ingestion API until SIGTERM or SIGINT, then stops accepting connections,
/// lets the requests in flight get their deliveries confirmed and answered, closes the producer and exits 130
/// (75 when a record could still not be confirmed).
struct IngestHTTPServer {
    var options: HTTPIngestOptions
    var settings: ConnectionSettings

    /// How long startup waits for a broker before giving up with exit code 69.
    static let brokerStartupTimeout = Duration.seconds(30)
    static let healthProbeInterval = Duration.seconds(2)

    /// Defaults for the HTTP mode, before the operator's -X properties (which win). Each request waits for its
    /// acknowledgements, so batching delay is latency every client pays: 1 ms still fills batches under load.
    static func producerDefaults(deliveryTimeout: Duration) -> [(String, String)] {
        [
            ("message.timeout.ms", String(max(1, deliveryTimeout / .milliseconds(1)))),
            ("linger.ms", "1"),
        ]
    }

    func run() async throws {
        let (host, port) = try options.listenAddress()
        let deliveryTimeout = try options.parsedDeliveryTimeout()
        let responderSettings = IngestHTTPResponder.Settings(
            maximumBodySize: try options.maximumBodySize(), bearerToken: try options.bearerToken(),
            accessLog: options.accessLog, brokers: settings.brokers.value, topic: settings.topic.value)

        let configuration = KafkaConfiguration(
            bootstrapServers: settings.brokers.value,
            properties: Self.producerDefaults(deliveryTimeout: deliveryTimeout)
                + settings.kafkaProperties.map { ($0.key, $0.value) })
        let publisher = try HTTPPublisher(configuration: configuration, topic: settings.topic.value)
        try await onDedicatedThread { () throws(KafkaError) in try publisher.waitForBrokers(timeout: Self.brokerStartupTimeout) }
        let health = BrokerHealth(publisher: publisher, interval: Self.healthProbeInterval, initial: .reachable)

        let application = Self.makeApplication(
            host: host, port: port,
            responder: IngestHTTPResponder(
                settings: responderSettings, publisher: publisher, health: health, metrics: IngestHTTPMetrics()),
            onListening: { address in
                Terminal.note(
                    "listening on http://\(address), publishing to \(settings.topic.value) at \(settings.brokers.value)")
            })
        try await application.runService()

        health.stop()
        let undelivered = await onDedicatedThread { publisher.close(flushTimeout: deliveryTimeout) }
        guard undelivered == 0 else {
            throw CommandFailure(.notDelivered, "stopped with \(undelivered) record(s) not confirmed by the broker")
        }
        Terminal.note("speedo: stopped on a signal; every accepted reading was delivered")
        throw ExitCode(SpeedoExitCode.interrupted.rawValue)
    }

    /// Builds the server; tests run the same application in-process.
    static func makeApplication(
        host: String, port: Int, responder: IngestHTTPResponder,
        onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var logger = Logger(label: "speedo.http")
        // Hummingbird's own notices (startup, shutdown) would duplicate ours; access lines are opt-in.
        logger.logLevel = .warning
        return Application(
            responder: responder,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port)),
            onServerRunning: { channel in
                let bound = channel.localAddress
                let shownHost = host.contains(":") ? "[\(host)]" : host
                onListening("\(shownHost):\(bound?.port ?? port)")
            },
            logger: logger)
    }
}

/// Runs a blocking call on a thread of its own, off the cooperative pool, and returns its result.
func onDedicatedThread<Value: Sendable, Failure: Error>(
    _ body: @escaping @Sendable () throws(Failure) -> Value
) async throws(Failure) -> Value {
    let result: Result<Value, Failure> = await withCheckedContinuation { continuation in
        Thread {
            continuation.resume(returning: Result { () throws(Failure) in try body() })
        }.start()
    }
    return try result.get()
}
