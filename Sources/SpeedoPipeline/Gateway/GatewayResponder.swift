package import Hummingbird
import SpeedoCore
import SpeedoRuntime

/// The gateway's plain HTTP: `GET /` (the live page), `GET /healthz`, `GET /metrics`, and the answer to a
/// `GET /ws/speed` that did not upgrade (its refusal, or 426 when it was not a WebSocket handshake).
///
/// `/healthz` answers 200 once the feed has read `speed-latest` to its end, 503 while it connects or when the brokers
/// cannot be reached; it and the page stay open, `/metrics` and `/ws/speed` need the token when there is one.
package struct GatewayResponder: HTTPResponder {
    package typealias Context = BasicRequestContext

    package let admission: GatewayAdmission
    package let hub: GatewayHub
    package let brokers: String
    package let topic: String

    package init(
        admission: GatewayAdmission,
        hub: GatewayHub,
        brokers: String,
        topic: String
    ) {
        self.admission = admission
        self.hub = hub
        self.brokers = brokers
        self.topic = topic
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        let (route, answer) = dispatch(request)
        hub.metrics.countRequest(route: route, status: answer.status.code)
        return answer.response
    }

    private func dispatch(_ request: Request) -> (String, HTTPAnswer) {
        let path = request.uri.path
        if let refusal = admission.hosts.refusal(host: request.head.authority, origin: request.headers[.origin]) {
            return (Self.route(of: path), refusal.answer)
        }
        switch path {
        case "/", GatewayAdmission.path, "/healthz", "/metrics":
            guard request.method == .get else { return (path, HTTPRefusal.methodNotAllowed(allow: "GET").answer) }
        default:
            return (Self.route(of: path), HTTPReply.error(
                .notFound, "not-found",
                "no such resource; the gateway serves GET / (a live page), GET /ws/speed (WebSocket), GET /healthz and GET /metrics"))
        }
        switch path {
        case "/":
            return (path, HTTPReply.body(.ok, Array(GatewayPage.html.utf8), contentType: "text/html; charset=utf-8"))
        case "/healthz":
            return (path, health())
        case "/metrics":
            if let refusal = admission.authentication.refusal(authorization: request.headers[.authorization]) {
                return (path, refusal.answer)
            }
            return (path, HTTPReply.body(.ok, hub.metrics.exposition(), contentType: HTTPReply.prometheusContentType))
        default:
            let admitted = admission.admit(
                uri: request.uri, authorization: request.headers[.authorization], origin: request.headers[.origin],
                host: request.head.authority)
            if case .failure(let refusal) = admitted { return (path, refusal.answer) }
            return (path, HTTPReply.error(
                .upgradeRequired, "upgrade-required",
                "\(GatewayAdmission.path) is a WebSocket: connect with a WebSocket client (ws://HOST:PORT\(GatewayAdmission.path))",
                headers: [.upgrade: "websocket"]))
        }
    }

    /// The path for the gateway's own paths, `other` for the rest, so that scanners cannot grow the label set.
    private static func route(of path: String) -> String {
        switch path {
        case "/", GatewayAdmission.path, "/healthz", "/metrics": path
        default: "other"
        }
    }

    private func health() -> HTTPAnswer {
        let connections = hub.connectionCount
        let (status, state, message): (HTTPResponse.Status, String, String?) =
            switch hub.feed {
            case .caughtUp: (.ok, "ok", nil)
            case .connecting: (.serviceUnavailable, "starting", "still reading \(topic) up to its end")
            case .unreachable(let reason): (.serviceUnavailable, "unavailable", reason)
            }
        return HTTPReply.body(status, JSONBody.encode(GatewayHealthReply(
            status: state, brokers: brokers, topic: topic, message: message, connections: connections,
            sensors: hub.sensorCount)))
    }
}

/// `GET /healthz` of the gateway.
package struct GatewayHealthReply: Encodable, Sendable {
    package var status: String
    package var brokers: String
    package var topic: String
    package var message: String?
    package var connections: Int
    package var sensors: Int
}
