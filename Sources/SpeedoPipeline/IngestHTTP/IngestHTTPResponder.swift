import Foundation
package import HTTPTypes
package import NIOCore
package import SpeedoCore
package import SpeedoHTTP
package import SpeedoKafka
package import SpeedoRuntime

/// What the ingestion API looks at in a request's head to route and check it.
package struct IngestHTTPRequest: Sendable {
    package var method: HTTPRequest.Method
    package var path: Substring
    package var contentType: String?
    package var contentLength: Int?
    package var authorization: String?
    package var host: String?
    package var origin: String?
}

/// What to do with a request once its head is in.
package enum IngestHTTPAdmission: Sendable {
    /// Collect the body (at most `maximumBodySize`), then hand it to `ingest`.
    case readBody(SpeedBodyFormat)
    /// Send this answer at once; the body, if any, is read and dropped.
    case answer(HTTPAnswer)
}

/// The HTTP ingestion API: `POST /speed`, `GET /healthz`, `GET /metrics`, independent of the server that carries it
/// (`IngestHTTPHandler`): nothing here waits, so the server can run it on its event loop. `/healthz`, `/metrics`, the
/// Host and Origin checks and unknown paths are answered by `HTTPOperations`, as on every server of speedo.
///
/// Status codes: 200 readings delivered (rejected ones listed), 400 malformed body or every reading rejected,
/// 401 missing or wrong bearer token (`/speed` and `/metrics`; `/healthz` stays open for load balancers and
/// orchestrators, and tells nothing secret), 403 a browser page of a foreign Origin, 421 a Host the server does not
/// answer for (`HTTPHostPolicy`, on every path), 404 unknown path, 405 wrong method (with `Allow`), 413 body over
/// `--max-body`, 415 unsupported `Content-Type`, 503 with `Retry-After` when a valid reading was not confirmed by the
/// broker: `queue-full` and `not-delivered` (not written), `delivery-in-doubt` (sent but not acknowledged, within
/// `--delivery-timeout` or librdkafka's own: it may be on the topic). Bodies: `SpeedReply`.
package struct IngestHTTPResponder: Sendable {
    package struct Settings: Sendable {
        package var maximumBodySize: Int
        /// How long a request waits for its acknowledgements. librdkafka's `message.timeout.ms` is set to the same,
        /// so it normally fails an unacknowledged record itself (definitely not delivered) just before this.
        package var deliveryTimeout: Duration
        package var authentication: BearerTokenCheck
        package var hosts: HTTPHostPolicy
        package var accessLog: Bool
        package var brokers: String
        package var topic: String

        package init(
            maximumBodySize: Int, deliveryTimeout: Duration, authentication: BearerTokenCheck, hosts: HTTPHostPolicy,
            accessLog: Bool, brokers: String, topic: String
        ) {
            (self.maximumBodySize, self.deliveryTimeout, self.authentication) = (maximumBodySize, deliveryTimeout, authentication)
            (self.hosts, self.accessLog, self.brokers, self.topic) = (hosts, accessLog, brokers, topic)
        }
    }

    package let settings: Settings
    package let publisher: ReadingPublisher
    package let metrics: IngestHTTPMetrics
    private let operations: HTTPOperations
    /// Where `--access-log` writes.
    private let notes: Notes

    package init(
        settings: Settings, publisher: ReadingPublisher, health: BrokerHealth, metrics: IngestHTTPMetrics, notes: Notes
    ) {
        self.settings = settings
        self.publisher = publisher
        self.metrics = metrics
        self.notes = notes
        operations = HTTPOperations(
            resources: ["/speed"], served: "the API is POST /speed, GET /livez, GET /readyz (or /healthz) and GET /metrics",
            hosts: settings.hosts, authentication: settings.authentication, metrics: metrics.registry,
            refreshMetrics: { metrics.refresh(outstandingRecords: publisher.outstandingCount) },
            health: {
                let condition: HealthReport.Condition = switch health.current {
                case .reachable: .ok
                case .unreachable(let reason): .unavailable(reason)
                }
                return HealthReport(
                    condition, brokers: settings.brokers, topic: settings.topic,
                    counts: ["outstanding": publisher.outstandingCount])
            })
    }
    /// One for the server, so that a sensor's readings without `ts` get distinct times across requests too.
    package let stamps = ReceptionStamps()

    /// Lets librdkafka's own timeout, which tells "failed" apart from "may still arrive", decide first.
    package static let deadlineGrace = Duration.milliseconds(500)

    /// Seconds a client should wait before resending, by cause.
    package static let retryAfterQueueFull = "1"
    package static let retryAfterNotDelivered = "5"

    package func admit(_ request: IngestHTTPRequest) -> IngestHTTPAdmission {
        if let answer = operations.answer(
            method: request.method, path: request.path, host: request.host, origin: request.origin,
            authorization: request.authorization)
        {
            return .answer(answer)
        }
        // POST /speed, the one resource of the API's own.
        guard request.method == .post else { return .answer(HTTPRefusal.methodNotAllowed(allow: "POST").answer) }
        if let refusal = settings.authentication.refusal(authorization: request.authorization) {
            return .answer(refusal.answer)
        }
        guard let format = SpeedBodyFormat(contentType: request.contentType) else {
            let given = request.contentType.map { "Content-Type \(EscapedText.quoted($0))" } ?? "no Content-Type"
            return .answer(HTTPReply.error(
                .unsupportedMediaType, "unsupported-media-type",
                "\(given) is not accepted; send \(SpeedBodyFormat.acceptedTypes)"))
        }
        if let declared = request.contentLength, declared > settings.maximumBodySize { return .answer(tooLarge()) }
        return .readBody(format)
    }

    /// Counts the answered request and logs it with `--access-log`.
    package func answered(_ request: IngestHTTPRequest, status: HTTPResponse.Status, received: ContinuousClock.Instant) {
        operations.count(path: request.path, status: status)
        guard settings.accessLog else { return }
        let elapsed = ContinuousClock.now - received
        notes.note(
            "\(request.method) \(EscapedText.escape(String(request.path))) \(status.code) "
                + String(format: "%.3fms", elapsed.inSeconds * 1e3))
    }

    // MARK: POST /speed

    /// Validates the body's readings and publishes the valid ones; `reply` gets the answer once the broker
    /// acknowledged or failed each of them (on the producer's poll thread, or at once on this one).
    package func ingest(_ body: ByteBuffer, format: SpeedBodyFormat, reply: @escaping @Sendable (HTTPAnswer) -> Void) {
        let decoded = body.withUnsafeReadableBytes {
            SpeedBodyDecoder.decode($0, format: format, now: .current(), stamps: stamps)
        }
        let items: [SpeedBodyItem]
        switch decoded {
        case .success(let decodedItems): items = decodedItems
        case .failure(let malformed): return reply(HTTPReply.body(.badRequest, malformed.reply.json))
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
            return reply(HTTPReply.body(.badRequest, SpeedReply(accepted: 0, rejected: rejected).json))
        }

        let handedOver = ContinuousClock.now
        let metrics = self.metrics
        metrics.deliveryStarted()
        let total = readings.count
        publisher.publish(readings, deadline: handedOver + settings.deliveryTimeout + Self.deadlineGrace) {
            [readingIndexes, rejected] delivery in
            metrics.deliveryFinished(after: ContinuousClock.now - handedOver)
            let unconfirmed = zip(readingIndexes, delivery.records).filter { $0.1 != .delivered }.map(\.0)
            let accepted = total - unconfirmed.count
            metrics.countReadings(accepted: accepted, rejected: rejected.count, unconfirmed: unconfirmed.count)
            guard !unconfirmed.isEmpty else {
                return reply(HTTPReply.body(.ok, SpeedReply(accepted: accepted, rejected: rejected).json))
            }
            let failure = Self.describeUnconfirmed(delivery, count: unconfirmed.count, of: total)
            reply(HTTPReply.body(
                .serviceUnavailable,
                SpeedReply(accepted: accepted, rejected: rejected, failure: (failure.code, failure.message, unconfirmed)).json,
                headers: [.retryAfter: failure.retryAfter]))
        }
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
        let failures = delivery.records.compactMap { record -> (reason: String, inDoubt: Bool)? in
            switch record {
            case .delivered: nil
            case .failed(let error): (error.message, error.isInDoubt)
            case .notQueued(let error): (error.message, false)
            case .unconfirmed: ("no acknowledgement within --delivery-timeout", true)
            }
        }
        if let doubtful = failures.first(where: \.inDoubt) {
            return (
                "delivery-in-doubt",
                "the broker did not confirm \(which) (\(doubtful.reason)); they were sent, so they may be on the topic "
                    + "all the same: resend those listed in unconfirmed after Retry-After seconds, with their ts, which "
                    + "makes a resend of one already stored harmless (a reading without ts is stamped when it arrives, "
                    + "so its resend would be stored as a second reading)",
                retryAfterNotDelivered
            )
        }
        return (
            "not-delivered",
            "the broker did not confirm \(which) (\(failures.first?.reason ?? "not sent")); none of them was written: "
                + "resend those listed in unconfirmed after Retry-After seconds",
            retryAfterNotDelivered
        )
    }

    package func tooLarge() -> HTTPAnswer {
        HTTPReply.error(
            .contentTooLarge, "body-too-large",
            "the body is larger than \(settings.maximumBodySize) bytes (--max-body); split the readings over several requests")
    }
}

extension MalformedBody {
    package var reply: ErrorReply {
        ErrorReply(error: code, message: message, line: line, column: column)
    }
}
