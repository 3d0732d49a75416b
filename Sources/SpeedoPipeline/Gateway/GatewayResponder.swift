package import Hummingbird
import SpeedoCore
package import SpeedoHTTP

/// The gateway's plain HTTP: the live page (`GatewayPage`), `GET /api/history` (each sensor's recent readings, as
/// JSON), and the answer to a `GET /ws/speed` that did not upgrade (its refusal, or 426 when it was not a WebSocket
/// handshake); `GET /healthz`, `GET /metrics`, the Host and Origin checks and unknown paths are `HTTPOperations`', as
/// on every server of speedo.
///
/// `/healthz` answers 200 once the feed has read `speed-latest` to its end, 503 while it connects or when the brokers
/// cannot be reached; it and the page stay open, `/metrics`, `/api/history` and `/ws/speed` need the token when there
/// is one.
package struct GatewayResponder: AnsweringResponder {
    package let admission: GatewayAdmission
    package let page: GatewayPage
    package let hub: GatewayHub
    package let operations: HTTPOperations

    package init(
        admission: GatewayAdmission, page: GatewayPage = GatewayPage(), hub: GatewayHub, brokers: String, topic: String
    ) {
        (self.admission, self.page, self.hub) = (admission, page, hub)
        operations = HTTPOperations(
            resources: GatewayPage.paths + [GatewayAdmission.path, GatewayAdmission.historyPath],
            served: "the gateway serves GET / (a live page), GET /ws/speed (WebSocket), GET /api/history (recent "
                + "readings), GET /livez, GET /readyz (or /healthz) and GET /metrics",
            hosts: admission.hosts, authentication: admission.authentication, metrics: hub.metrics.registry,
            health: {
                let condition: HealthReport.Condition = switch hub.feed {
                case .caughtUp: .ok
                case .connecting: .starting("still reading \(topic) up to its end")
                case .unreachable(let reason): .unavailable(reason)
                case .gaveUp(let error): .unavailable(error.message)
                }
                return HealthReport(
                    condition, brokers: brokers, topic: topic,
                    counts: ["connections": hub.connectionCount, "sensors": hub.sensorCount])
            },
            stall: { hub.heartbeat.stall })
    }

    package func answer(resource request: Request) -> HTTPAnswer {
        guard request.method == .get else { return HTTPRefusal.methodNotAllowed(allow: "GET").answer }
        if let answer = page.answer(path: request.uri.path) { return answer }
        let admitted = admission.admit(
            uri: request.uri, authorization: request.headers[.authorization], origin: request.headers[.origin],
            host: request.head.authority)
        let subscription: GatewaySubscription
        switch admitted {
        case .failure(let refusal): return refusal.answer
        case .success(let admitted): subscription = admitted
        }
        if request.uri.path == GatewayAdmission.historyPath {
            return HTTPReply.body(
                .ok, hub.recentReadings(selecting: subscription, since: Timestamp.current() - subscription.lookBack),
                headers: [.cacheControl: "no-store"])
        }
        return HTTPReply.error(
            .upgradeRequired, "upgrade-required",
            "\(GatewayAdmission.path) is a WebSocket: connect with a WebSocket client (ws://HOST:PORT\(GatewayAdmission.path))",
            headers: [.upgrade: "websocket"])
    }
}
