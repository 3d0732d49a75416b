import CRdKafka
import SpeedoRuntime

/// librdkafka's in-memory Kafka cluster: real brokers speaking the Kafka protocol on loopback TCP (random ports),
/// usable by any process (kcat, other speedo processes) through `bootstrapServers` for as long as this object lives.
///
/// What librdkafka 2.0.2's mock supports, as observed here: produce (idempotent too), fetch, metadata, watermarks,
/// consumer groups, commits and committed-offset fetches. It answers offsets-for-times with -1, has no controller
/// (CreateTopics and DescribeConfigs time out: create topics with `createTopic` here; they have no configs), does not
/// support ListGroups, always replicates to every broker, and picks random loopback ports. Groups: the first join takes
/// about 3 s, and after a member leaves, the others get partitions back only once its session.timeout.ms has passed.
///
/// Threading: the brokers run on librdkafka's mock thread; every method here posts a command to it and blocks until
/// it is applied, so they may be called from any thread.
package final class MockCluster: Sendable {
    private let cluster: MockClusterPointer
    package let bootstrapServers: String
    package let brokerCount: Int

    /// Broker ids are 1...brokers.
    package init(brokers: Int = 1) throws(KafkaError) {
        let conf = KafkaConf()
        // The host client never connects anywhere: keep its "no bootstrap.servers" notice out of the output.
        try conf.set("log_level", "4")
        let host = try KafkaHandle(RD_KAFKA_PRODUCER, conf: conf, bootstrapServers: "")
        guard let cluster = rd_kafka_mock_cluster_new(host.pointer, Int32(clamping: brokers)) else {
            throw KafkaError(
                code: .librdkafka(RD_KAFKA_RESP_ERR__FAIL.rawValue),
                message: "cannot start librdkafka's mock Kafka cluster (see librdkafka's log above); "
                    + "are loopback TCP sockets available?"
            )
        }
        self.cluster = MockClusterPointer(cluster, host: host)
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
        self.brokerCount = brokers
    }

    /// A down broker closes its connections and refuses new ones until it is brought up again, on the same port.
    ///
    /// Setting it down closes its listener and binds the port again at once, and librdkafka 2.0.2 aborts the process
    /// when that bind fails, which it does while a child being spawned still holds a copy of the listener: so it takes
    /// its turn with spawns (`SpawnTurns`). Bringing it up only listens on the socket bound then.
    package func setBroker(_ id: Int32, up: Bool) throws(KafkaError) {
        let err = up
            ? rd_kafka_mock_broker_set_up(cluster.pointer, id)
            : SpawnTurns.exclusively { rd_kafka_mock_broker_set_down(cluster.pointer, id) }
        try check(err, "setting mock broker \(id) \(up ? "up" : "down")")
    }

    /// Delays every response of broker `id` by `milliseconds`.
    package func setRoundTripTime(broker id: Int32, milliseconds: Int32) throws(KafkaError) {
        try check(rd_kafka_mock_broker_set_rtt(cluster.pointer, id, milliseconds), "setting the round-trip time of mock broker \(id)")
    }

    /// The next `errors.count` requests of type `apiKey` (Kafka protocol numbering: 0 Produce, 1 Fetch, 3 Metadata…),
    /// on any broker, fail with these Kafka protocol error codes, in order.
    package func pushRequestErrors(apiKey: Int16, errors: [Int32]) {
        let codes = errors.map { rd_kafka_resp_err_t($0) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster.pointer, apiKey, buffer.count, buffer.baseAddress)
        }
    }

    package func createTopic(name: String, partitions: Int32, replicationFactor: Int32 = 1) throws(KafkaError) {
        try check(
            rd_kafka_mock_topic_create(cluster.pointer, name, partitions, replicationFactor),
            "creating topic \(name) on the mock cluster")
    }

    private func check(_ err: rd_kafka_resp_err_t, _ action: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, while: action) }
    }
}

/// Owns an `rd_kafka_mock_cluster_t`.
// @unchecked Sendable: every rd_kafka_mock_* call posts an op to the cluster's own thread and waits for the reply,
// so the cluster may be driven from any thread; the pointer itself never changes.
private final class MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The client instance librdkafka requires as the cluster's host: released (destroyed) only after the cluster.
    private let host: KafkaHandle

    init(_ pointer: OpaquePointer, host: KafkaHandle) {
        (self.pointer, self.host) = (pointer, host)
    }

    deinit { rd_kafka_mock_cluster_destroy(pointer) }
}
