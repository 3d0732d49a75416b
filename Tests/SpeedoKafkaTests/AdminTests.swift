import SpeedoKafka
import Testing

@Suite("Admin against the mock cluster")
struct AdminTests {
    @Test func metadataListsBrokersTopicsAndPartitions() throws {
        let cluster = try MockCluster(brokers: 3)
        let topic = uniqueName("meta")
        try cluster.createTopic(name: topic, partitions: 4)
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        try admin.waitForBrokers(timeout: .seconds(5))
        let metadata = try admin.metadata()
        #expect(metadata.brokers.map(\.id).sorted() == [1, 2, 3])
        #expect(Set(metadata.brokers.map { "\($0.host):\($0.port)" }) == Set(cluster.bootstrapServers.split(separator: ",").map(String.init)))
        let described = try #require(metadata.topic(named: topic))
        #expect(described.partitions.map(\.id) == [0, 1, 2, 3])
        #expect(described.partitions.allSatisfy { [1, 2, 3].contains($0.leader) && $0.replicas.contains($0.leader) })
    }

    @Test func watermarksOfEveryPartition() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("marks")
        try cluster.createTopic(name: topic, partitions: 3)
        let producer = try KafkaProducer(configuration: configuration(cluster)) { _ in }
        for (partition, count) in [(0, 4), (2, 1)] {
            for _ in 0..<count { try producer.send(topic: topic, key: nil, value: [0], partition: Int32(partition), tag: 0) }
        }
        #expect(producer.close() == 0)
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        #expect(try admin.watermarks(topic: topic) == [0: Watermarks(low: 0, high: 4), 1: Watermarks(low: 0, high: 0), 2: Watermarks(low: 0, high: 1)])
        let missing = #expect(throws: KafkaError.self) { try admin.watermarks(topic: uniqueName("absent")) }
        #expect(missing?.description.contains("does the topic exist") == true)
        // Looking the topic up must not have created it.
        #expect(try admin.metadata().topics.map(\.name) == [topic])
    }

    @Test func createTopicAcceptsAnExistingTopicAndExplainsTheMissingController() throws {
        let cluster = try MockCluster()
        let existing = uniqueName("speed-latest")
        try cluster.createTopic(name: existing, partitions: 2)
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        let compact = [("cleanup.policy", "compact")]
        #expect(try admin.createTopic(name: existing, partitions: 2, config: compact) == .alreadyExists)

        // librdkafka 2.0.2's mock cluster has no controller, so CreateTopics cannot succeed there.
        let error = #expect(throws: KafkaError.self) {
            try admin.createTopic(name: uniqueName("new"), partitions: 2, config: compact, timeout: .seconds(1))
        }
        #expect(error?.description.contains("controller") == true)
        #expect(error?.isRetriable == true)
    }

    @Test func listingGroupsIsUnsupportedByTheMock() throws {
        let cluster = try MockCluster()
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        let error = #expect(throws: KafkaError.self) { try admin.listConsumerGroups(timeout: .seconds(3)) }
        #expect(error?.description.contains("not supported") == true)
    }
}
