/// SpeedoHTTP: the one home of what speedo's HTTP servers share — `ingest --listen` (the ingestion API),
/// `gateway` (the live page and its WebSocket) and `consume postgres|latest --metrics-listen` (`MetricsEndpoint`).
///
/// - One answer type, `HTTPAnswer` (status, headers, body), written by either server stack; `HTTPReply` makes the
///   error body `{"error":CODE,"message":…}` and JSON bodies (`JSONBody`, keys sorted); `HTTPRefusal` is a request
///   refused before any work.
/// - One bearer check, `BearerTokenCheck`, and one reader of `--token-file`.
/// - One Host/Origin policy (`HTTPHostPolicy`) and one set of connection limits (`HTTPConnectionLimits`, with the
///   deadlines handler that enforces them).
/// - `GET /healthz` and `GET /metrics` built once (`HTTPOperations`): the same status codes, bodies, content types,
///   token rule and request counting on every server, each server adding only what it reports (`HealthReport`,
///   its metrics in an `HTTPMetricsRegistry`).
/// - One shutdown model (`HTTPServerLifecycle`): every server is a swift-service-lifecycle `Service` that listens in
///   `run()`, and on graceful shutdown stops accepting, lets the requests in flight get their answers, closes idle
///   connections and returns once every connection is closed. It runs in a `ServiceGroup` beside the engine's work
///   (for `ingest --listen` and `gateway`, waiting for the `StopRequest`; for `consume postgres`, the writer), and the
///   end of that work shuts the group down gracefully. Signals are not the group's business: the command's
///   `InterruptWatcher` turns them into the `StopRequest`, as for every other command (a second signal exits at once,
///   a stop that hangs is cut off by its `StopDeadline`).
///
/// Two server stacks, on purpose, decided once here:
/// - **`POST /speed` runs on raw SwiftNIO** (`RawHTTPServer`: NIO's HTTP/1.1 parser, the ingestion API's own
///   handler, every request answered from its connection's event loop). Hummingbird hands every request to a Swift
///   task; on this 2-core machine those hops and resumptions held the API to about 23,000 requests a second, where
///   the handler on the event loop serves 32,000–37,000 with half the CPU per request (bench/README.md, "On
///   SwiftNIO's HTTP/1.1 pipeline"). The ingestion API is the one server whose request rate is the product.
/// - **The gateway and the metrics endpoint run on Hummingbird** (`HTTPServing.makeApplication`): they serve few
///   requests, and the gateway's WebSockets come from hummingbird-websocket.
/// Both stacks answer with `HTTPAnswer`s, route `/healthz` and `/metrics` through `HTTPOperations`, enforce the same
/// `HTTPConnectionLimits`, and stop through `HTTPServerLifecycle`.
package enum SpeedoHTTP {}
