import Foundation
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import SpeedoCore
import SpeedoKafka
import SpeedoRuntime
import SpeedoStore

/// The listening socket of the HTTP ingestion API, on SwiftNIO's HTTP/1.1 server pipeline with one
/// `IngestHTTPHandler` per connection.
///
/// Not Hummingbird, which the gateway and the metrics endpoints use: Hummingbird hands every request to a Swift task,
/// and those hops held the API to about 23,000 requests a second where this answers from the event loop
/// (bench/README.md).
package final class IngestHTTPServer: Sendable {
    package static let healthProbeInterval = Duration.seconds(2)

    /// Overrides of `ReadingPublisher.producerDefaults` for the HTTP mode, before the operator's -X properties
    /// (which win). Each request waits for its acknowledgements, so batching delay is latency every client pays: with
    /// no linger, what arrives while a produce request is in flight still forms the next batch, and side by side with
    /// 1 ms it served 17-20 % more requests a second (bench/README.md).
    package static func producerDefaults(deliveryTimeout: Duration) -> [(String, String)] {
        [
            ("message.timeout.ms", String(max(1, deliveryTimeout / .milliseconds(1)))),
            ("linger.ms", "0"),
        ]
    }

    /// The port bound: the one chosen when 0 was asked for.
    package let port: Int
    /// `host:port` as bound, brackets around an IPv6 host.
    package let address: String
    private let channel: any Channel
    private let quiescing: ServerQuiescingHelper

    /// Binds `host:port` and starts accepting connections.
    package init(host: String, port: Int, responder: IngestHTTPResponder, limits: HTTPConnectionLimits = .standard) async throws {
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
    package func shutDown() async throws {
        let closed = channel.eventLoop.makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: closed)
        try await closed.futureResult.get()
    }
}
