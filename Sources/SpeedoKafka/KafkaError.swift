import CRdKafka

/// A failure reported by librdkafka or detected by this wrapper, with a stable `code` for programs and an
/// actionable `description` for people.
package struct KafkaError: Error, CustomStringConvertible, Sendable, Hashable {
    package enum Code: Hashable, Sendable, CustomStringConvertible {
        /// An `rd_kafka_resp_err_t` value: negative values are librdkafka's own, positive ones come from the broker.
        case librdkafka(Int32)
        /// A configuration property librdkafka rejected (unknown name or invalid value).
        case invalidProperty
        /// A property this wrapper does not let callers change (e.g. turning idempotence off).
        case forbiddenProperty
        /// No bootstrap server answered a metadata request before the deadline.
        case noBrokersAvailable
        /// The client was used after `close()`.
        case closed
        /// An operation did not complete before its deadline.
        case timedOut

        package var description: String {
            switch self {
            case .librdkafka(let raw): "rdkafka:" + String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(raw)))
            case .invalidProperty: "invalid-property"
            case .forbiddenProperty: "forbidden-property"
            case .noBrokersAvailable: "no-brokers-available"
            case .closed: "closed"
            case .timedOut: "timed-out"
            }
        }
    }

    package let code: Code
    /// What failed, why, and what to do about it.
    package let message: String
    /// Trying the same operation again later may succeed.
    package let isRetriable: Bool
    /// The client instance is unusable and must be recreated (e.g. an idempotent producer that lost its sequence).
    package let isFatal: Bool
    /// A failed delivery whose record may have been written all the same (librdkafka's "possibly persisted": it was
    /// sent, but no acknowledgement came back): a resend may make a second copy.
    package let isInDoubt: Bool

    package var description: String { message }

    package init(code: Code, message: String, isRetriable: Bool = false, isFatal: Bool = false, isInDoubt: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
        self.isInDoubt = isInDoubt
    }

    /// Wraps a bare response code, classifying retriability ourselves because librdkafka only offers that
    /// flag on `rd_kafka_error_t` objects. `inDoubt`: a delivery report said the record was possibly persisted.
    init(_ err: rd_kafka_resp_err_t, while action: String, inDoubt: Bool = false) {
        let advice = inDoubt ? Self.inDoubtAdvice : Self.advice(for: err)
        self.init(
            code: .librdkafka(err.rawValue),
            message: "\(action) failed: \(String(cString: rd_kafka_err2str(err)))\(advice)",
            isRetriable: Self.retriableCodes.contains(err),
            isFatal: err == RD_KAFKA_RESP_ERR__FATAL,
            isInDoubt: inDoubt
        )
    }

    private static let inDoubtAdvice =
        "; the record was sent but not acknowledged, so it may be on the topic all the same (in doubt): a resend of a "
        + "reading with its ts is stored once, one without ts would be stored twice"

    /// Takes ownership of (and destroys) an `rd_kafka_error_t`.
    init(consuming error: OpaquePointer, while action: String) {
        defer { rd_kafka_error_destroy(error) }
        let err = rd_kafka_error_code(error)
        self.init(
            code: .librdkafka(err.rawValue),
            message: "\(action) failed: \(String(cString: rd_kafka_error_string(error)))\(Self.advice(for: err))",
            isRetriable: rd_kafka_error_is_retriable(error) != 0 || Self.retriableCodes.contains(err),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }

    package var isQueueFull: Bool { code == .librdkafka(RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue) }

    /// The topic does not exist (or the brokers do not say it does).
    package var isUnknownTopic: Bool {
        code == .librdkafka(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue)
            || code == .librdkafka(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART.rawValue)
    }

    private static let retriableCodes: Set<rd_kafka_resp_err_t> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
    ]

    private static func advice(for err: rd_kafka_resp_err_t) -> String {
        switch err {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
            "; the local producer queue is full (queue.buffering.max.messages/kbytes): wait for deliveries or raise the limit"
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
            "; are the brokers running and reachable? (`speedo dev up` starts a local one)"
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
            "; the record was not sent before message.timeout.ms passed, so it is not on the topic: sending it again is safe"
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
            "; does the topic exist? create it first"
        default:
            ""
        }
    }
}
