import Testing
@testable import SpeedoKafka

@Suite("Admin against the mock cluster")
struct AdminTests {
    @Test func explore() throws {
        let cluster = try MockCluster(brokers: 3)
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        try admin.waitForBrokers(timeout: .seconds(5))
        let topic = uniqueName("latest")
        try cluster.createTopic(name: topic, partitions: 4, replicationFactor: 2)
        let metadata = try admin.metadata()
        print(metadata)
        print(try admin.watermarks(topic: topic))
        do { print(try admin.watermarks(topic: "nonexistent")) } catch { print("nonexist", error) }
        print(try admin.metadata().topics.map(\.name))
        do { print(try admin.topicConfig(name: topic, timeout: .seconds(3))) } catch { print("config", error) }
        do { print(try admin.listConsumerGroups(timeout: .seconds(3))) } catch { print("groups", error) }
        do { print(try admin.committedOffsets(group: "x", partitions: [TopicPartition(topic: topic, partition: 0)], timeout: .seconds(3))) } catch { print("committed", error) }
    }
}
