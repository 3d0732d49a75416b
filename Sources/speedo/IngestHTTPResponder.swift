import Foundation
import Hummingbird
import SpeedoCore
import SpeedoKafka

/// The HTTP ingestion API: `POST /speed`, `GET /healthz`, `GET /metrics`.
///
/// Status codes: 200 readings delivered (rejected ones listed), 400 malformed body or every reading rejected,
/// 401 missing or wrong bearer token (`/speed` and `/metrics`; `/healthz` stays open for load balancers and
/// orchestrators, and tells nothing secret), 404 unknown path, 405 wrong method (with `Allow`), 413 body over
/// `--max-body`, 415 unsupported `Content-Type`, 503 with `Retry-After` when a valid reading was not confirmed by the
/// broker (queue full, broker failure, or no acknowledgement within `--delivery-timeout`). Bodies: `SpeedReply`.
struct IngestHTTPResponder: HTTPResponder {
    typealias Context = BasicRequestContext

    struct Settings: Sendable {
        var maximumBodySize: Int
        /// How long a request waits for its acknowledgements. librdkafka's `message.timeout.ms` is set to the same,
        /// so it normally fails an unacknowledged record itself (definitely not delivered) just before this.
        var deliveryTimeout: Duration
        var authentication: BearerTokenCheck
        var accessLog: Bool
        var brokers: String
        var topic: String
    }

    let settings: Settings
    let publisher: ReadingPublisher
    let health: BrokerHealth
    let metrics: IngestHTTPMetrics

    /// Lets librdkafka's own timeout, which tells "failed" apart from "may still arrive", decide first.
    static let deadlineGrace = Duration.milliseconds(500)

    /// Seconds a client should wait before resending, by cause.
    static let retryAfterQueueFull = "1"
    static let retryAfterNotDelivered = "5"

    func respond(to request: Request, context: Context) async throws -> Response {
        let started = ContinuousClock.now
        let (route, response) = try await dispatch(request)
        metrics.countRequest(route: route, status: response.status.code)
        if settings.accessLog {
            let elapsed = ContinuousClock.now - started
            Terminal.note(
                "\(request.method) \(EscapedText.escape(request.uri.path)) \(response.status.code) "
                    + String(format: "%.3fms", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1e3))
        }
        return response
    }

    /// The route label is the path for the API's own paths and `other` for the rest.
    private func dispatch(_ request: Request) async throws -> (String, Response) {
        let path = request.uri.path
        switch path {
        case "/speed":
            guard request.method == .post else { return (path, Self.methodNotAllowed(allow: "POST")) }
            if let refusal = authenticate(request) { return (path, refusal) }
            return (path, try await ingest(request))
        case "/healthz":
            guard request.method == .get else { return (path, Self.methodNotAllowed(allow: "GET")) }
            return (path, healthReport())
        case "/metrics":
            guard request.method == .get else { return (path, Self.methodNotAllowed(allow: "GET")) }
            if let refusal = authenticate(request) { return (path, refusal) }
            let text = metrics.exposition(outstandingRecords: publisher.outstandingCount)
            return (path, Self.reply(.ok, text, contentType: HTTPReply.prometheusContentType))
        default:
            return ("other", Self.error(.notFound, "not-found", "no such resource; the API is POST /speed, GET /healthz and GET /metrics"))
        }
    }

    // MARK: POST /speed

    private func ingest(_ request: Request) async throws -> Response {
        guard let format = SpeedBodyFormat(contentType: request.headers[.contentType]) else {
            let given = request.headers[.contentType].map { "Content-Type \(EscapedText.quoted($0))" } ?? "no Content-Type"
            return Self.error(
                .unsupportedMediaType, "unsupported-media-type",
                "\(given) is not accepted; send \(SpeedBodyFormat.acceptedTypes)")
        }
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > settings.maximumBodySize {
            return tooLarge()
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: settings.maximumBodySize)
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            return tooLarge()
        }
        let decoded = body.withUnsafeReadableBytes { SpeedBodyDecoder.decode($0, format: format, now: .current()) }
        let items: [SpeedBodyItem]
        switch decoded {
        case .success(let decodedItems): items = decodedItems
        case .failure(let malformed): return Self.reply(.badRequest, malformed.reply.json)
        }

        var readings: [Reading] = []
        var readingIndexes: [Int] = []
        var rejected: [SpeedReply.RejectedReading] = []
        readings.reserveCapacity(items.count)
        for item in items {
            switch item.outcome {
            case .success(let reading):
                readings.append(reading)
                readingIndexes.append(item.index)
            case .failure(let rejection):
                rejected.append(SpeedReply.rejected(item, rejection))
            }
        }
        guard !readings.isEmpty else {
            metrics.countReadings(accepted: 0, rejected: rejected.count, unconfirmed: 0)
            return Self.reply(.badRequest, SpeedReply(accepted: 0, rejected: rejected).json)
        }

        let handedOver = ContinuousClock.now
        let delivery = await publisher.publish(readings, deadline: handedOver + settings.deliveryTimeout + Self.deadlineGrace)
        metrics.recordDelivery(ContinuousClock.now - handedOver)
        let unconfirmed = zip(readingIndexes, delivery.records).filter { $0.1 != .delivered }.map(\.0)
        let accepted = readings.count - unconfirmed.count
        metrics.countReadings(accepted: accepted, rejected: rejected.count, unconfirmed: unconfirmed.count)
        guard !unconfirmed.isEmpty else {
            return Self.reply(.ok, SpeedReply(accepted: accepted, rejected: rejected).json)
        }
        let failure = Self.describeUnconfirmed(delivery, count: unconfirmed.count, of: readings.count)
        return Self.reply(
            .serviceUnavailable,
            SpeedReply(accepted: accepted, rejected: rejected, failure: (failure.code, failure.message, unconfirmed)).json,
            headers: [.retryAfter: failure.retryAfter])
    }

    private static func describeUnconfirmed(
        _ delivery: BatchOutcome, count: Int, of total: Int
    ) -> (code: String, message: String, retryAfter: String) {
        let which = "\(count) of \(total) valid reading\(total == 1 ? "" : "s")"
        if delivery.hitFullQueue {
            return (
                "queue-full",
                "the producer's queue is full, so \(which) could not be queued; resend those listed in unconfirmed "
                    + "after Retry-After seconds",
                retryAfterQueueFull
            )
        }
        let reason = delivery.records.lazy.compactMap { record -> String? in
            switch record {
            case .delivered: nil
            case .failed(let error), .notQueued(let error): error.message
            case .unconfirmed: "no acknowledgement within --delivery-timeout"
            }
        }.first ?? "not sent"
        return (
            "not-delivered",
            "the broker did not confirm \(which) (\(reason)); resend those listed in unconfirmed after Retry-After seconds",
            retryAfterNotDelivered
        )
    }

    private func tooLarge() -> Response {
        Self.error(
            .contentTooLarge, "body-too-large",
            "the body is larger than \(settings.maximumBodySize) bytes (--max-body); split the readings over several requests")
    }

    // MARK: GET /healthz

    private func healthReport() -> Response {
        let outstanding = publisher.outstandingCount
        switch health.current {
        case .reachable:
            return Self.reply(.ok, HealthReply(
                status: "ok", brokers: settings.brokers, topic: settings.topic, message: nil,
                outstanding: outstanding).json)
        case .unreachable(let reason):
            return Self.reply(.serviceUnavailable, HealthReply(
                status: "unavailable", brokers: settings.brokers, topic: settings.topic, message: reason,
                outstanding: outstanding).json)
        }
    }

    // MARK: Authentication

    /// nil when the request may proceed.
    private func authenticate(_ request: Request) -> Response? {
        settings.authentication.refusal(authorization: request.headers[.authorization])?.response
    }

    // MARK: Responses

    private static func methodNotAllowed(allow: String) -> Response {
        HTTPRefusal.methodNotAllowed(allow: allow).response
    }

    private static func error(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]
    ) -> Response {
        HTTPReply.error(status, code, message, headers: headers)
    }

    private static func reply(
        _ status: HTTPResponse.Status, _ body: [UInt8], contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) -> Response {
        HTTPReply.body(status, body, contentType: contentType, headers: headers)
    }
}

extension MalformedBody {
    var reply: ErrorReply {
        ErrorReply(error: code, message: message, line: line, column: column)
    }
}
