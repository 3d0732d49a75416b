import CRdKafka

package struct TopicPartition: Hashable, Sendable, CustomStringConvertible {
    package var topic: String
    package var partition: Int32

    package var description: String { "\(topic)[\(partition)]" }
}

/// A position in a partition. For commits, `offset` is the next record to read (last processed + 1), as in Kafka.
package struct TopicPartitionOffset: Hashable, Sendable {
    package var topicPartition: TopicPartition
    package var offset: Int64

    package init(topic: String, partition: Int32, offset: Int64) {
        topicPartition = TopicPartition(topic: topic, partition: partition)
        self.offset = offset
    }

    package var topic: String { topicPartition.topic }
    package var partition: Int32 { topicPartition.partition }

    /// As an offset to start from: the earliest record the broker still holds (librdkafka's logical "beginning").
    package static let earliest = Int64(RD_KAFKA_OFFSET_BEGINNING)
    /// As an offset to start from: the partition's end at the time the fetch starts (only what comes after).
    package static let latest = Int64(RD_KAFKA_OFFSET_END)
}

package struct KafkaHeader: Hashable, Sendable {
    package var name: String
    package var value: [UInt8]

    package init(name: String, value: [UInt8]) {
        (self.name, self.value) = (name, value)
    }
}

package struct ClusterMetadata: Sendable {
    package struct Broker: Hashable, Sendable {
        package var id: Int32
        package var host: String
        package var port: Int32
    }

    package struct Partition: Hashable, Sendable {
        package var id: Int32
        package var leader: Int32
        package var replicas: [Int32]
        package var inSyncReplicas: [Int32]
    }

    package struct Topic: Sendable {
        package var name: String
        package var partitions: [Partition]
        /// Set when the broker reported a problem with this topic (e.g. it does not exist).
        package var error: KafkaError?

        package var topicPartitions: [TopicPartition] { partitions.map { TopicPartition(topic: name, partition: $0.id) } }
    }

    package var brokers: [Broker]
    package var topics: [Topic]

    package func topic(named name: String) -> Topic? { topics.first { $0.name == name } }

    init(_ metadata: rd_kafka_metadata) {
        brokers = (0..<Int(metadata.broker_cnt)).map { index in
            let broker = metadata.brokers[index]
            return Broker(id: broker.id, host: String(cString: broker.host), port: broker.port)
        }
        topics = (0..<Int(metadata.topic_cnt)).map { index in
            let topic = metadata.topics[index]
            let name = String(cString: topic.topic)
            let partitions = (0..<Int(topic.partition_cnt)).map { partitionIndex in
                let partition = topic.partitions[partitionIndex]
                return Partition(
                    id: partition.id,
                    leader: partition.leader,
                    replicas: Array(UnsafeBufferPointer(start: partition.replicas, count: Int(partition.replica_cnt))),
                    inSyncReplicas: Array(UnsafeBufferPointer(start: partition.isrs, count: Int(partition.isr_cnt)))
                )
            }
            let error = topic.err == RD_KAFKA_RESP_ERR_NO_ERROR
                ? nil : KafkaError(topic.err, while: "looking up topic \(name)")
            return Topic(name: name, partitions: partitions.sorted { $0.id < $1.id }, error: error)
        }
    }
}

/// Owns an `rd_kafka_topic_partition_list_t`.
final class PartitionList {
    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(capacity: Int) {
        pointer = rd_kafka_topic_partition_list_new(Int32(clamping: capacity))
    }

    convenience init(_ positions: [TopicPartitionOffset]) {
        self.init(capacity: positions.count)
        for position in positions { add(position) }
    }

    convenience init(_ partitions: [TopicPartition], offset: Int64) {
        self.init(capacity: partitions.count)
        for partition in partitions {
            add(TopicPartitionOffset(topic: partition.topic, partition: partition.partition, offset: offset))
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    func add(_ position: TopicPartitionOffset) {
        rd_kafka_topic_partition_list_add(pointer, position.topic, position.partition).pointee.offset = position.offset
    }

    /// Reads any list librdkafka hands us, owned or borrowed.
    static func entries(of list: UnsafePointer<rd_kafka_topic_partition_list_t>?) -> [(position: TopicPartitionOffset, error: rd_kafka_resp_err_t)] {
        guard let list, let elements = list.pointee.elems else { return [] }
        return (0..<Int(list.pointee.cnt)).map { index in
            let element = elements[index]
            return (TopicPartitionOffset(topic: String(cString: element.topic), partition: element.partition, offset: element.offset), element.err)
        }
    }

    /// Lends the list to C while keeping this owner alive (a bare `.pointer` read could be its last use, freeing the
    /// list before the C call).
    func withList<R, E: Error>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> R) throws(E) -> R {
        defer { withExtendedLifetime(self) {} }
        return try body(pointer)
    }

    var entries: [(position: TopicPartitionOffset, error: rd_kafka_resp_err_t)] { Self.entries(of: pointer) }
}
