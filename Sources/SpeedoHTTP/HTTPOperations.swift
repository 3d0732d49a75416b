package import HTTPTypes

/// The probes (`GET /livez`, `/readyz`, `/healthz`) and `GET /metrics`, and what surrounds every server's own
/// resources, answered the same way by each of speedo's servers, whichever stack carries them:
///
/// - a `Host` or `Origin` the server does not answer for: 421 or 403 (`HTTPHostPolicy`), on every path;
/// - the probes: `GET` only (405 with `Allow` otherwise), never behind the token (load balancers and orchestrators
///   probe them, and they tell nothing secret). `/readyz` (and `/healthz`, its older name): 200 or 503 with the
///   server's `HealthReport`, 503 while a dependency is out. `/livez`: 200 `{"status":"alive"}` while the process
///   answers and its engine's loop turns (`Heartbeat`), a dependency out or not: a liveness probe that restarted the
///   process during a Kafka or PostgreSQL outage would only add restarts to the outage; 503 `{"status":"stalled"}`
///   with the reason once the loop has not turned for a minute;
/// - `/metrics`: `GET` only, behind the token when the server has one (401); 200 with the Prometheus text of the
///   server's `HTTPMetricsRegistry`, request counts included;
/// - any path the server does not serve: 404 `not-found`, saying what it serves.
///
/// Requests are counted by route (`speedo_http_requests_total{route,status}`): a path the server serves, or `other`,
/// so that scanners cannot grow the label set.
package struct HTTPOperations: Sendable {
    package let metrics: HTTPMetricsRegistry
    /// nil: no Host or Origin check (the writer's metrics endpoint, which no browser needs to reach).
    private let hosts: HTTPHostPolicy?
    private let authentication: BearerTokenCheck
    /// nil: the server has no probes.
    private let health: (@Sendable () -> HealthReport)?
    /// Why the engine's loop looks stuck (`Heartbeat.stall`), for `/livez`; nil: the server answering is enough.
    private let stall: (@Sendable () -> String?)?
    /// Brings gauges read from elsewhere up to date before an exposition.
    private let refreshMetrics: @Sendable () -> Void
    /// The server's own paths and the operational ones: a handful, compared in order (no hashing, and no `String`
    /// made of the path, on the ingestion API's every request).
    private let paths: [String]
    /// What the 404 says the server serves.
    private let served: String

    /// `resources`: the paths the server answers itself; `served`: how the 404 names what there is.
    package init(
        resources: [String], served: String, hosts: HTTPHostPolicy?, authentication: BearerTokenCheck,
        metrics: HTTPMetricsRegistry, refreshMetrics: @escaping @Sendable () -> Void = {},
        health: (@Sendable () -> HealthReport)?, stall: (@Sendable () -> String?)? = nil
    ) {
        self.metrics = metrics
        self.hosts = hosts
        self.authentication = authentication
        self.health = health
        self.stall = stall
        self.refreshMetrics = refreshMetrics
        paths = resources + (health == nil ? [] : Self.probes) + ["/metrics"]
        self.served = served
    }

    /// The answer for what every server answers alike (see above); nil for a request to one of the server's own
    /// resources, which it answers itself.
    package func answer(
        method: HTTPRequest.Method, path: Substring, host: String?, origin: String?, authorization: String?
    ) -> HTTPAnswer? {
        if let refusal = hosts?.refusal(host: host, origin: origin) { return refusal.answer }
        if let health, let probe = Self.probes.first(where: { $0 == path }) {
            guard method == .get else { return HTTPRefusal.methodNotAllowed(allow: "GET").answer }
            guard probe == "/livez" else { return health().answer }
            return stall?().map { HTTPReply.json(.serviceUnavailable, ["status": "stalled", "message": $0]) } ?? Self.alive
        }
        if path == "/metrics" {
            guard method == .get else { return HTTPRefusal.methodNotAllowed(allow: "GET").answer }
            if let refusal = authentication.refusal(authorization: authorization) { return refusal.answer }
            refreshMetrics()
            return HTTPReply.body(.ok, metrics.exposition(), contentType: HTTPReply.prometheusContentType)
        }
        return paths.contains { $0 == path } ? nil : notFound
    }

    private static let probes = ["/livez", "/readyz", "/healthz"]
    private static let alive = HTTPReply.json(.ok, ["status": "alive"])

    /// The 404 of this server.
    package var notFound: HTTPAnswer { HTTPReply.notFound(served) }

    /// The route label of `path`: itself for a path the server serves, `other` for the rest.
    package func route(of path: Substring) -> String {
        paths.first { $0 == path } ?? "other"
    }

    /// Counts an answered request.
    package func count(path: Substring, status: HTTPResponse.Status) {
        metrics.countRequest(route: route(of: path), status: status.code)
    }
}

/// `GET /healthz`: 200 while `condition` is ok, 503 otherwise, with the same JSON on every server,
/// `{"brokers":…,"message":…,"status":"ok"|"starting"|"unavailable","topic":…}` (`message` only when not ok, saying
/// why) plus the server's own counts, keys sorted.
package struct HealthReport: Sendable, Encodable {
    package enum Condition: Sendable, Equatable {
        case ok
        /// Not serving yet, e.g. still reading its topic up to its end.
        case starting(String)
        /// The brokers cannot be reached, with the reason.
        case unavailable(String)
    }

    package var condition: Condition
    package var brokers: String
    package var topic: String
    /// What the server adds: records outstanding (ingest), connections and sensors (gateway).
    package var counts: [String: Int]

    package init(_ condition: Condition, brokers: String, topic: String, counts: [String: Int]) {
        (self.condition, self.brokers, self.topic, self.counts) = (condition, brokers, topic, counts)
    }

    package var answer: HTTPAnswer {
        HTTPReply.json(condition == .ok ? .ok : .serviceUnavailable, self)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.init(stringValue) }
        init?(intValue: Int) { nil }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        let (status, message): (String, String?) = switch condition {
        case .ok: ("ok", nil)
        case .starting(let reason): ("starting", reason)
        case .unavailable(let reason): ("unavailable", reason)
        }
        try container.encode(status, forKey: Key("status"))
        try container.encodeIfPresent(message, forKey: Key("message"))
        try container.encode(brokers, forKey: Key("brokers"))
        try container.encode(topic, forKey: Key("topic"))
        for (name, count) in counts { try container.encode(count, forKey: Key(name)) }
    }
}
