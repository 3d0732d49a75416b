import CRdKafka
import SpeedoCore

package enum TopicCreation: Sendable, Equatable {
    case created
    /// The topic was already there (its settings were left as they were).
    case alreadyExists
}

/// Cluster administration: topics, metadata, watermarks, consumer group offsets.
///
/// Threading: every method sends requests and blocks the calling thread until the answer or the timeout; call from a
/// dedicated thread. No callbacks.
package final class KafkaAdmin: Sendable {
    private let handle: KafkaHandle

    package init(configuration: KafkaConfiguration) throws(KafkaError) {
        let conf = try configuration.makeConf(client: "admin client", defaults: [])
        // A consumer-type handle (without group.id it never joins a group) because librdkafka 2.0.2 lets producer
        // handles auto-create any topic they merely look up, whatever allow.auto.create.topics says.
        handle = try KafkaHandle(RD_KAFKA_CONSUMER, conf: conf, bootstrapServers: configuration.bootstrapServers)
    }

    package func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try handle.waitForBrokers(timeout: timeout)
    }

    /// See `KafkaHandle.connect(within:retrying:)`: the startup wait every command shares (`--connect-timeout`).
    package func connect(
        within connectTimeout: Duration, retrying: (BrokerWaitNotice) -> Bool
    ) throws(KafkaError) -> BrokerWaitOutcome {
        try handle.connect(within: connectTimeout, retrying: retrying)
    }

    /// Creates a topic with per-topic `config` (e.g. `cleanup.policy=compact`); an existing topic counts as success
    /// (its settings are not compared). `replicationFactor` -1 takes the broker's default.
    ///
    /// Existence is checked in the metadata first, which also works where CreateTopics cannot: librdkafka's mock
    /// cluster has no controller, so there topics must come from `MockCluster.createTopic`.
    package func createTopic(
        name: String,
        partitions: Int32,
        replicationFactor: Int32 = -1,
        config: [(String, String)] = [],
        timeout: Duration = .seconds(10)
    ) throws(KafkaError) -> TopicCreation {
        let action = "creating topic \(name)"
        if try handle.metadata(timeout: timeout).topic(named: name) != nil { return .alreadyExists }
        let newTopic: OpaquePointer = try withErrorBuffer { reason in
            rd_kafka_NewTopic_new(name, partitions, replicationFactor, reason.baseAddress, reason.count)
        } orThrow: { reason in
            KafkaError(code: .librdkafka(RD_KAFKA_RESP_ERR__INVALID_ARG.rawValue), message: "\(action) failed: \(reason)")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (key, value) in config {
            let err = rd_kafka_NewTopic_set_config(newTopic, key, value)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, while: "\(action) (config \(key)=\(value))") }
        }
        return try requestAboutOne(
            newTopic, action, timeout: timeout, submit: rd_kafka_CreateTopics, answer: rd_kafka_event_CreateTopics_result,
            results: rd_kafka_CreateTopics_result_topics
        ) { (result) throws(KafkaError) -> TopicCreation in
            switch rd_kafka_topic_result_error(result) {
            case RD_KAFKA_RESP_ERR_NO_ERROR: return .created
            case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: return .alreadyExists
            case RD_KAFKA_RESP_ERR__TIMED_OUT:
                throw Self.error(RD_KAFKA_RESP_ERR__TIMED_OUT, action, detail: Self.noControllerHint)
            case let err:
                let reason = rd_kafka_topic_result_error_string(result).map { String(cString: $0) }
                throw Self.error(err, action, detail: reason)
            }
        }
    }

    /// The per-topic configuration the brokers report (DescribeConfigs), name → value.
    package func topicConfig(name: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [String: String] {
        let action = "describing the configuration of topic \(name)"
        let resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name)
        defer { rd_kafka_ConfigResource_destroy(resource) }
        return try requestAboutOne(
            resource, action, timeout: timeout, submit: rd_kafka_DescribeConfigs,
            answer: rd_kafka_event_DescribeConfigs_result, results: rd_kafka_DescribeConfigs_result_resources
        ) { (described) throws(KafkaError) -> [String: String] in
            let err = rd_kafka_ConfigResource_error(described)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw Self.error(err, action, detail: rd_kafka_ConfigResource_error_string(described).map { String(cString: $0) })
            }
            var entryCount = 0
            guard let entries = rd_kafka_ConfigResource_configs(described, &entryCount) else { return [:] }
            var config: [String: String] = [:]
            for entry in UnsafeBufferPointer(start: entries, count: entryCount) {
                guard let entry, let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                config[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
            }
            return config
        }
    }

    /// The cluster's id, or nil when no broker told it within `timeout`. librdkafka's mock cluster names itself
    /// `mockCluster…`.
    package func clusterID(timeout: Duration = .seconds(10)) -> String? {
        guard let id = rd_kafka_clusterid(handle.pointer, timeout.clampedMilliseconds) else { return nil }
        defer { rd_kafka_mem_free(handle.pointer, id) }
        return String(cString: id)
    }

    /// Brokers and every topic with its partitions (leader, replicas).
    package func metadata(timeout: Duration = .seconds(10)) throws(KafkaError) -> ClusterMetadata {
        try handle.metadata(timeout: timeout)
    }

    /// Watermarks of every partition of `topic`, keyed by partition id.
    package func watermarks(topic: String, timeout: Duration = .seconds(10)) throws(KafkaError) -> [Int32: Watermarks] {
        try handle.watermarks(topic: topic, timeout: timeout)
    }

    /// The offsets `group` has committed for `partitions` (the next offset it will read); partitions without a
    /// commit are absent. Lag is then `high watermark - committed`.
    package func committedOffsets(
        group: String,
        partitions: [TopicPartition],
        timeout: Duration = .seconds(10)
    ) throws(KafkaError) -> [TopicPartition: Int64] {
        let action = "fetching the committed offsets of consumer group \(group)"
        let list = PartitionList(partitions, offset: Int64(RD_KAFKA_OFFSET_INVALID))
        let groupRequest = list.withList { rd_kafka_ListConsumerGroupOffsets_new(group, $0) }
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(groupRequest) }
        return try requestAboutOne(
            groupRequest, action, timeout: timeout, submit: rd_kafka_ListConsumerGroupOffsets,
            answer: rd_kafka_event_ListConsumerGroupOffsets_result,
            results: rd_kafka_ListConsumerGroupOffsets_result_groups
        ) { (answer) throws(KafkaError) -> [TopicPartition: Int64] in
            if let error = rd_kafka_group_result_error(answer) {
                throw Self.error(rd_kafka_error_code(error), action, detail: String(cString: rd_kafka_error_string(error)))
            }
            var offsets: [TopicPartition: Int64] = [:]
            for (position, err) in PartitionList.entries(of: rd_kafka_group_result_partitions(answer))
            where err == RD_KAFKA_RESP_ERR_NO_ERROR && position.offset >= 0 {
                offsets[position.topicPartition] = position.offset
            }
            return offsets
        }
    }

    /// Names of the consumer groups the brokers know.
    package func listConsumerGroups(timeout: Duration = .seconds(10)) throws(KafkaError) -> [String] {
        let action = "listing consumer groups"
        return try request(action, timeout: timeout) { queue, options in
            rd_kafka_ListConsumerGroups(handle.pointer, options, queue)
        } read: { (event) throws(KafkaError) -> [String] in
            let result = rd_kafka_event_ListConsumerGroups_result(event)
            var errorCount = 0
            if let errors = rd_kafka_ListConsumerGroups_result_errors(result, &errorCount), errorCount > 0, let first = errors[0] {
                throw Self.error(rd_kafka_error_code(first), action, detail: String(cString: rd_kafka_error_string(first)))
            }
            var count = 0
            guard let listings = rd_kafka_ListConsumerGroups_result_valid(result, &count) else { return [] }
            return UnsafeBufferPointer(start: listings, count: count).compactMap { listing in
                listing.map { String(cString: rd_kafka_ConsumerGroupListing_group_id($0)) }
            }.sorted()
        }
    }

    /// Runs one admin request on a private queue and waits for its result event.
    private func request<Result>(
        _ action: String,
        timeout: Duration,
        start: (_ queue: OpaquePointer, _ options: OpaquePointer) -> Void,
        read: (_ event: OpaquePointer) throws(KafkaError) -> Result
    ) throws(KafkaError) -> Result {
        let queue = rd_kafka_queue_new(handle.pointer)!
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_ANY)!
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.clampedMilliseconds, nil, 0)
        start(queue, options)
        // librdkafka enforces the request timeout itself; the extra second only covers delivering that answer.
        guard let event = rd_kafka_queue_poll(queue, (timeout + .seconds(1)).clampedMilliseconds) else {
            throw KafkaError(code: .timedOut, message: "\(action) timed out after \(timeout); are the brokers reachable?",
                             isRetriable: true)
        }
        defer { rd_kafka_event_destroy(event) }
        let err = rd_kafka_event_error(event)
        if err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let detail = rd_kafka_event_error_string(event).map { String(cString: $0) }
            throw Self.error(err, action, detail: err == RD_KAFKA_RESP_ERR__TIMED_OUT ? detail.map { "\($0); \(Self.noControllerHint)" } : detail)
        }
        return try read(event)
    }

    /// A request about one object, with librdkafka's calls for it: `submit` (which takes an array of such objects),
    /// `answer` (the result event's typed content) and `results` (its results, one per object); `read` gets the one.
    private func requestAboutOne<Result>(
        _ object: OpaquePointer?,
        _ action: String,
        timeout: Duration,
        submit: (OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>?, Int, OpaquePointer?, OpaquePointer?) -> Void,
        answer: (OpaquePointer?) -> OpaquePointer?,
        results: (OpaquePointer?, UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<OpaquePointer?>?,
        read: (_ result: OpaquePointer) throws(KafkaError) -> Result
    ) throws(KafkaError) -> Result {
        try request(action, timeout: timeout) { queue, options in
            var objects: [OpaquePointer?] = [object]
            submit(handle.pointer, &objects, 1, options, queue)
        } read: { (event) throws(KafkaError) -> Result in
            var count = 0
            guard let all = results(answer(event), &count), count == 1, let only = all[0] else {
                throw KafkaError(RD_KAFKA_RESP_ERR__BAD_MSG, while: action)
            }
            return try read(only)
        }
    }

    private static let noControllerHint =
        "requests that need the cluster controller time out on librdkafka's mock cluster, which has none"

    private static func error(_ err: rd_kafka_resp_err_t, _ action: String, detail: String?) -> KafkaError {
        let base = KafkaError(err, while: action)
        guard let detail, !detail.isEmpty else { return base }
        return KafkaError(code: base.code, message: base.message + " (\(detail))", isRetriable: base.isRetriable, isFatal: base.isFatal)
    }
}

/// Calls a C constructor that reports failure through an error-string buffer.
private func withErrorBuffer<T>(
    _ make: (UnsafeMutableBufferPointer<CChar>) -> T?,
    orThrow failure: (String) -> KafkaError
) throws(KafkaError) -> T {
    let outcome: Result<T, KafkaError> = withUnsafeTemporaryAllocation(of: CChar.self, capacity: 512) { reason in
        reason[0] = 0
        if let made = make(reason) { return .success(made) }
        return .failure(failure(String(cString: reason.baseAddress!)))
    }
    return try outcome.get()
}
