import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

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
            authentication: BearerTokenCheck(token: try http.bearerToken()), hosts: http.hosts.policy(listenHost: host),
            accessLog: http.accessLog, brokers: settings.brokers.value, topic: settings.topic.value)
        let limits = try http.connections.limits()

        let publishing = self.publishing
        let interrupts = InterruptWatcher(stopDeadline: StopDeadline(
            exitCode: .notDelivered,
            consequence: "requests still waiting for the broker got no answer; their readings are in doubt (they may "
                + "or may not be on the topic: senders that send `ts` can resend them harmlessly)"))
        // Batches await every acknowledgement, so the HTTP mode needs the report of every record.
        let publisher = try await runOnDedicatedThread(name: "speedo-connect") {
            try ReadingPublisher.connected(
                settings: settings, options: try publishing.settings(), command: "ingest", stop: interrupts.stop, notes: .standardError,
                defaults: IngestHTTPServer.producerDefaults(deliveryTimeout: deliveryTimeout),
                streamingReports: .everyRecord)
        }
        let health = BrokerHealth(publisher: publisher, interval: IngestHTTPServer.healthProbeInterval, initial: .reachable)

        let responder = IngestHTTPResponder(
            settings: responderSettings, publisher: publisher, health: health, metrics: IngestHTTPMetrics())
        let server: IngestHTTPServer
        do {
            server = try await IngestHTTPServer(host: host, port: port, responder: responder, limits: limits)
        } catch {
            throw HTTPServing.listenFailure(error, on: http.listen ?? "", option: "--listen")
        }
        Terminal.note("listening on http://\(server.address), publishing to \(settings.topic.value) at \(settings.brokers.value)")
        HTTPServing.warnIfExposed(host: host, command: "ingest", protected: http.tokenFile != nil)
        try await runOnDedicatedThread(name: "speedo-signals") { interrupts.stop.wait() }
        try await server.shutDown()

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
