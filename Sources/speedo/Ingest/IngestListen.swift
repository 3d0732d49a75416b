import ArgumentParser
import SpeedoCore
import SpeedoHTTP
import SpeedoPipeline
import SpeedoRuntime

extension Ingest {
    /// `speedo ingest --listen`: runs the HTTP ingestion API until SIGTERM or SIGINT, then stops accepting
    /// connections, lets the requests in flight get their deliveries confirmed and answered, closes the producer and
    /// exits 0 on SIGTERM, 130 on SIGINT (75 when a record could still not be confirmed).
    func serveHTTP() async throws {
        let settings = try kafka.resolved()
        let listen = try http.listenAddress()
        let responder = IngestHTTPResponder.Settings(
            maximumBodySize: try http.maximumBodySize(), deliveryTimeout: try http.parsedDeliveryTimeout(),
            authentication: try BearerTokenCheck(tokenFile: http.tokenFile), hosts: http.hosts.policy(listenHost: listen.host),
            accessLog: http.accessLog, brokers: settings.brokers.value, topic: settings.topic.value)
        let limits = try http.connections.limits()
        let publishing = try self.publishing.settings(kafka: kafka)

        let interrupts = InterruptWatcher(stopDeadline: StopDeadline(
            exitCode: .notDelivered,
            consequence: "requests still waiting for the broker got no answer; their readings are in doubt (they may "
                + "or may not be on the topic: senders that send `ts` can resend them harmlessly)"))
        let outcome = try await IngestHTTPService.run(
            connection: settings, publishing: publishing, listen: listen, limits: limits, responder: responder,
            stop: interrupts.stop, notes: .standardError)
        guard outcome.undelivered == 0 else {
            throw CommandFailure(.notDelivered, "stopped with \(outcome.undelivered) record(s) not confirmed by the broker")
        }
        try interrupts.endCleanStop("speedo ingest: stopped on a signal; every accepted reading was delivered")
    }
}
