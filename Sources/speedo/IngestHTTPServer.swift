import ArgumentParser
import Foundation
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
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
                settings: settings, options: publishing, command: "ingest", interrupts: interrupts,
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
        try await runOnDedicatedThread(name: "speedo-signals") { interrupts.waitForSignal() }
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

/// The listening socket of the HTTP ingestion API, on SwiftNIO's HTTP/1.1 server pipeline with one
/// `IngestHTTPHandler` per connection.
///
/// Not Hummingbird, which the gateway and the metrics endpoints use: Hummingbird hands every request to a Swift task,
/// and those hops held the API to about 23,000 requests a second where this answers from the event loop
/// (bench/README.md).
final class IngestHTTPServer: Sendable {
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

    /// The port bound: the one chosen when 0 was asked for.
    let port: Int
    /// `host:port` as bound, brackets around an IPv6 host.
    let address: String
    private let channel: any Channel
    private let quiescing: ServerQuiescingHelper

    /// Binds `host:port` and starts accepting connections.
    init(host: String, port: Int, responder: IngestHTTPResponder, limits: HTTPConnectionLimits = .standard) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(limits.makeAcceptLimiter())
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelInitializer { connection in
                connection.eventLoop.makeCompletedFuture {
                    try connection.pipeline.syncOperations.addHandler(HTTPConnectionDeadlines(limits: limits))
                    try connection.pipeline.syncOperations.configureHTTPServerPipeline(
                        withPipeliningAssistance: false, withErrorHandling: true)
                    try connection.pipeline.syncOperations.addHandler(IngestHTTPHandler(responder: responder))
                }
            }
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port)
            .get()
        self.quiescing = quiescing
        self.port = channel.localAddress?.port ?? port
        address = "\(host.contains(":") ? "[\(host)]" : host):\(self.port)"
    }

    /// Stops accepting connections, lets every request in flight get its answer, closes idle connections, and
    /// returns once every connection is closed.
    func shutDown() async throws {
        let closed = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        try await closed.futureResult.get()
    }
}
