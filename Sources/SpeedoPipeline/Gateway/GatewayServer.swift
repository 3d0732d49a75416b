package import HTTPTypes
import Hummingbird
package import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
package import SpeedoHTTP

/// The gateway's connections: HTTP/1.1, where `GET /ws/speed` upgrades to a WebSocket once admitted.
package enum GatewayServer {
    package struct Settings: Sendable {
        package var admission: GatewayAdmission
        /// Ping an idle client this often; it must answer within the same period or it is closed.
        package var pingInterval: Duration
        /// How long a closing client has to answer the close frame.
        package var closeTimeout: Duration
        package var limits: HTTPConnectionLimits
        package var page: GatewayPage

        package init(
            admission: GatewayAdmission, pingInterval: Duration, closeTimeout: Duration, limits: HTTPConnectionLimits,
            page: GatewayPage = GatewayPage()
        ) {
            (self.admission, self.pingInterval, self.closeTimeout, self.limits) = (admission, pingInterval, closeTimeout, limits)
            self.page = page
        }
    }

    /// The socket send buffer of a WebSocket connection: a few seconds of every sensor's updates.
    package static let sendBufferSize = 64 << 10

    package static func builder(settings: Settings, hub: GatewayHub) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let configuration = HTTP1WebSocketUpgradeChannel.Configuration(
                http1: .init(idleTimeout: TimeAmount(settings.limits.idleTimeout)),
                ws: WebSocketServerConfiguration(
                    autoPing: .enabled(timePeriod: settings.pingInterval), closeTimeout: settings.closeTimeout))
            let webSocket = HTTP1WebSocketUpgradeChannel(responder: responder, configuration: configuration) { head, channel, _ in
                // The refusal handler let through only admitted upgrades; this decides again on the same request.
                guard case .success(let subscription) = settings.admission.admit(head) else { return .dontUpgrade }
                return .upgrade([:]) { inbound, outbound, _ in
                    await serve(subscription, channel: channel, hub: hub, inbound: inbound, outbound: outbound)
                }
            }
            return GatewayChildChannel(webSocket: webSocket, admission: settings.admission, limits: settings.limits)
        }
    }

    /// One client, from its upgrade to its close: its snapshot and updates are written by its `GatewayClientWriter`,
    /// while one task reads what the client sends (which also processes its pongs and its close frame) and another
    /// waits for a reason to close it.
    private static func serve(
        _ subscription: GatewaySubscription, channel: any Channel, hub: GatewayHub,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter
    ) async {
        // Bounds what the kernel holds for a client that stopped reading (its autotuned default reaches megabytes), so
        // that such a client fills its socket, and so shows its lag, after kilobytes instead of minutes.
        _ = try? await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: sendBufferSize).get()
        let closeRequest = GatewayCloseRequest()
        do {
            try await channel.eventLoop.submit {
                let writer = GatewayClientWriter(subscription: subscription, hub: hub, closeRequest: closeRequest)
                try channel.pipeline.syncOperations.addHandler(writer, position: .first)
            }.get()
        } catch {
            return  // The connection closed before it could be served.
        }
        hub.metrics.registry.countRequest(route: GatewayAdmission.path, status: 101)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    for try await _ in inbound {}
                } catch {
                    // The connection broke; the closer is cancelled below either way.
                }
            }
            group.addTask {
                if let (code, reason) = await closeRequest.wait() { try? await outbound.close(code, reason: reason) }
            }
            await group.next()
            group.cancelAll()
        }
    }
}

extension GatewayAdmission {
    package func admit(_ head: HTTPRequest) -> Result<GatewaySubscription, HTTPRefusal> {
        admit(
            uri: URI(head.path ?? "/"), authorization: head.headerFields[.authorization], origin: head.headerFields[.origin],
            host: head.authority)
    }
}

/// Hummingbird's HTTP/1.1-with-WebSocket channel, with two changes: a refused upgrade is answered by the gateway's
/// HTTP responder (400, 401, 403, 421 with a JSON message) instead of an empty 400, and the first request is timed
/// (`HTTPConnectionDeadlines`), which Hummingbird leaves untimed until it knows whether the connection upgrades; its
/// own idle timeout takes over for later requests, WebSocket pings after an upgrade.
///
/// It does so by taking the `Upgrade` header off a request that `GatewayAdmission` refuses, before the upgrade
/// handler sees it: the request then goes through as plain HTTP, and the responder, deciding the same way, answers
/// with the refusal.
private struct GatewayChildChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let webSocket: HTTP1WebSocketUpgradeChannel
    let admission: GatewayAdmission
    let limits: HTTPConnectionLimits

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        webSocket.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let upgrader = try operations.handler(
                type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
            try operations.addHandler(HTTPConnectionDeadlines(limits: limits), position: .first)
            try operations.addHandler(RefusedUpgradeFilter(admission: admission), position: .before(upgrader))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await webSocket.handle(value: value, logger: logger)
    }
}

/// Sees the first request head of a connection, before the upgrade handler; from there on, the connection's deadlines
/// are Hummingbird's.
private final class RefusedUpgradeFilter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let admission: GatewayAdmission

    init(admission: GatewayAdmission) {
        self.admission = admission
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        if head.headers.contains(name: "upgrade") && !admits(head) {
            head.headers.remove(name: "upgrade")
        }
        context.triggerUserOutboundEvent(HTTPConnectionActivity.handedOver, promise: nil)
        context.fireChannelRead(wrapInboundOut(.head(head)))
        // Only a connection's first request can upgrade.
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func admits(_ head: HTTPRequestHead) -> Bool {
        let uri = URI(head.uri)
        guard uri.path == GatewayAdmission.path else { return false }
        let admitted = admission.admit(
            uri: uri, authorization: head.headers.first(name: "authorization"), origin: head.headers.first(name: "origin"),
            host: head.headers.first(name: "host"))
        if case .success = admitted { return true }
        return false
    }
}
