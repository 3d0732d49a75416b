import Foundation
package import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The listening socket of a server on SwiftNIO's HTTP/1.1 pipeline with no framework above it: the ingestion API's
/// (why: `SpeedoHTTP`). Each connection gets the `HTTPConnectionDeadlines` of `limits`, NIO's parser, and the
/// handler `makeHandler` makes, which must send `HTTPConnectionActivity` events to the deadlines and close its
/// connection once idle after a `ChannelShouldQuiesceEvent`.
package final class RawHTTPListener: Sendable {
    /// The port bound: the one chosen when 0 was asked for.
    package let port: Int
    /// `host:port` as bound, brackets around an IPv6 host.
    package let address: String
    private let channel: any Channel
    private let quiescing: ServerQuiescingHelper

    /// Binds `host:port` and starts accepting connections.
    package init(
        host: String, port: Int, limits: HTTPConnectionLimits,
        makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws {
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
                    try connection.pipeline.syncOperations.addHandler(makeHandler())
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

/// A `RawHTTPListener` as `HTTPServerLifecycle` runs every server: it binds in `run()`, tells `listening` its address,
/// and serves until the graceful shutdown (or the cancellation) of its task, then shuts down as `shutDown()` does.
package struct RawHTTPServer: Service {
    private let host: String
    private let port: Int
    private let limits: HTTPConnectionLimits
    private let listening: @Sendable (String) -> Void
    private let makeHandler: @Sendable () -> any ChannelHandler

    package init(
        host: String, port: Int, limits: HTTPConnectionLimits, listening: @escaping @Sendable (String) -> Void,
        makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) {
        (self.host, self.port, self.limits) = (host, port, limits)
        (self.listening, self.makeHandler) = (listening, makeHandler)
    }

    package func run() async throws {
        let listener = try await RawHTTPListener(host: host, port: port, limits: limits, makeHandler: makeHandler)
        listening(listener.address)
        // Cancelled instead: the group is going down without waiting; the connections still end as on a stop.
        try? await gracefulShutdown()
        try await listener.shutDown()
    }
}
