import CRdKafka
import Glibc
import SpeedoCore

/// Owns one `rd_kafka_t`.
// @unchecked Sendable: librdkafka documents rd_kafka_t as thread-safe, the pointer never changes after init, and
// `context` is immutable and itself Sendable.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let bootstrapServers: String
    /// Whatever the C callbacks receive as their opaque: released only after `rd_kafka_destroy` in `deinit` has
    /// returned, so no callback can see it freed.
    private let context: (any Sendable & AnyObject)?

    init(
        _ type: rd_kafka_type_t,
        conf: KafkaConf,
        bootstrapServers: String,
        context: (any Sendable & AnyObject)? = nil
    ) throws(KafkaError) {
        if let context { conf.setOpaque(context) }
        let created: Result<OpaquePointer, KafkaError> = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { reason in
            reason[0] = 0
            if let handle = rd_kafka_new(type, conf.pointer, reason.baseAddress, reason.count) {
                _ = conf.release()
                return .success(handle)
            }
            let kind = type == RD_KAFKA_CONSUMER ? "consumer" : "producer"
            return .failure(KafkaError(
                code: .invalidProperty,
                message: "cannot create Kafka \(kind): \(String(cString: reason.baseAddress!)); check the -X properties"
            ))
        }
        self.pointer = try created.get()
        self.bootstrapServers = bootstrapServers
        self.context = context
    }

    deinit {
        rd_kafka_destroy(pointer)
    }

    /// The value librdkafka runs with for `key` (defaults, speedo's settings and `-X` applied), nil for an unknown key.
    func effectiveProperty(_ key: String) -> String? {
        guard let conf = rd_kafka_conf(pointer) else { return nil }
        var size = 0
        guard rd_kafka_conf_get(conf, key, nil, &size) == RD_KAFKA_CONF_OK, size > 0 else { return nil }
        var value = [CChar](repeating: 0, count: size)
        guard rd_kafka_conf_get(conf, key, &value, &size) == RD_KAFKA_CONF_OK else { return nil }
        return String(decoding: value.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Blocks the calling thread until a broker answers a metadata request, retrying with backoff, so that no
    /// command races the startup of its cluster.
    func waitForBrokers(timeout: Duration) throws(KafkaError) {
        guard let failure = probeBrokers(timeout: timeout) else { return }
        throw KafkaError(
            code: .noBrokersAvailable,
            message: "no Kafka broker answered at \(bootstrapServers) within \(timeout) (\(failure.attempts) attempt\(failure.attempts == 1 ? "" : "s"), last error: "
                + "\(failure.lastError)); is the cluster running and reachable? "
                + "(`speedo dev up` starts a local one; -b/--brokers or SPEEDO_BROKERS chooses another)",
            isRetriable: true
        )
    }

    /// Metadata requests with backoff until one answers (nil) or `timeout` has passed: how many were made, and
    /// librdkafka's last answer.
    func probeBrokers(timeout: Duration) -> (attempts: Int, lastError: String)? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var backoff = Duration.milliseconds(100)
        var attempts = 0
        var lastError = RD_KAFKA_RESP_ERR__TIMED_OUT
        while true {
            attempts += 1
            let attemptTimeout = min(deadline - clock.now, .seconds(2))
            var metadata: UnsafePointer<rd_kafka_metadata>?
            lastError = rd_kafka_metadata(pointer, 0, nil, &metadata, attemptTimeout.clampedMilliseconds)
            if let metadata {
                let brokerCount = metadata.pointee.broker_cnt
                rd_kafka_metadata_destroy(metadata)
                if lastError == RD_KAFKA_RESP_ERR_NO_ERROR && brokerCount > 0 { return nil }
            }
            let remaining = deadline - clock.now
            if remaining <= .zero { break }
            usleep(UInt32(min(backoff, remaining).clampedMilliseconds) * 1000)
            backoff = min(backoff * 2, .seconds(2))
        }
        return (attempts, String(cString: rd_kafka_err2str(lastError)))
    }

    /// Always asks for all topics: a request naming a topic makes brokers that answer Metadata v0-v3 (librdkafka's
    /// mock cluster among them) create that topic.
    func metadata(timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(pointer, 1, nil, &metadata, timeout.clampedMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(err, while: "fetching cluster metadata from \(bootstrapServers)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        return ClusterMetadata(metadata.pointee)
    }

    func watermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> Watermarks {
        var low: Int64 = 0
        var high: Int64 = 0
        let err = rd_kafka_query_watermark_offsets(pointer, topic, partition, &low, &high, timeout.clampedMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(err, while: "querying watermarks of \(topic)[\(partition)]")
        }
        return Watermarks(low: low, high: high)
    }

    /// Watermarks of every partition of `topic` (from the metadata), keyed by partition id.
    func watermarks(topic: String, timeout: Duration) throws(KafkaError) -> [Int32: Watermarks] {
        let deadline = ContinuousClock.now + timeout
        let metadata = try metadata(timeout: timeout)
        guard let described = metadata.topic(named: topic) else {
            throw KafkaError(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, while: "querying watermarks of \(topic)")
        }
        if let error = described.error { throw error }
        var result: [Int32: Watermarks] = [:]
        for partition in described.partitions {
            result[partition.id] = try watermarks(
                topic: topic, partition: partition.id, timeout: max(deadline - .now, .milliseconds(1)))
        }
        return result
    }
}

/// The first offset still held (`low`) and the offset the next record will get (`high`).
package struct Watermarks: Hashable, Sendable {
    package var low: Int64
    package var high: Int64

    package init(low: Int64, high: Int64) {
        (self.low, self.high) = (low, high)
    }

    package var isEmpty: Bool { low >= high }
}
