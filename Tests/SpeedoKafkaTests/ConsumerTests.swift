@testable import SpeedoKafka
import Synchronization
import Testing

@Suite("Consumer against the mock cluster")
struct ConsumerTests {
    /// Sends `timestampsMs.count` records to one partition, value = index, and waits for them.
    private func produce(_ cluster: MockCluster, topic: String, partition: Int32, timestampsMs: [Int64]) throws {
        let producer = try KafkaProducer(configuration: configuration(cluster)) { _ in }
        for (index, timestamp) in timestampsMs.enumerated() {
            try producer.send(
                topic: topic, key: nil, value: Array("\(index)".utf8), partition: partition, timestampMs: timestamp,
                tag: UInt64(index))
        }
        #expect(producer.close() == 0)
    }

    @Test func rebalancesWaitAsValuesUntilAppliedWithTheCallersStarts() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("group")
        let group = uniqueName("group")
        try cluster.createTopic(name: topic, partitions: 2)
        for partition: Int32 in [0, 1] {
            try produce(cluster, topic: topic, partition: partition, timestampsMs: Array(repeating: 1_700_000_000_000, count: 10))
        }
        let p0 = TopicPartition(topic: topic, partition: 0)
        let p1 = TopicPartition(topic: topic, partition: 1)

        // A standalone (never subscribed) member commits for the group, as an operator tool would.
        let committer = try KafkaConsumer(configuration: configuration(cluster), groupID: group)
        try committer.commit(offsets: [
            TopicPartitionOffset(topic: topic, partition: 0, offset: 2),
            TopicPartitionOffset(topic: topic, partition: 1, offset: 5),
        ])
        committer.close()
        let admin = try KafkaAdmin(configuration: configuration(cluster))
        #expect(try admin.committedOffsets(group: group, partitions: [p0, p1]) == [p0: 2, p1: 5])

        let member = try KafkaConsumer(configuration: configuration(cluster), groupID: group, buffersRebalances: true)
        try member.subscribe(topics: [topic])
        var assignment: Rebalance?
        let beforeApplying = drain(member, timeout: .seconds(15)) { _ in
            assignment = assignment ?? member.takeRebalance()
            return assignment != nil
        }
        let taken = try #require(assignment)
        #expect(taken.kind == .assign && Set(taken.partitions) == [p0, p1] && !taken.isIncremental)
        // Not applied yet: nothing is fetched.
        let waiting = drain(member, timeout: .seconds(1)) { _ in false }
        #expect((beforeApplying + waiting).records.isEmpty)

        // p0 starts where the caller says; p1, left out, resumes from the committed offset.
        try member.complete(taken, starts: [p0: 7])
        let events = drain(member, timeout: .seconds(15)) { $0.endsOfPartition.count >= 2 }
        #expect(events.records.map { "\($0.partition)@\($0.offset)" }.sorted()
            == ["0@7", "0@8", "0@9", "1@5", "1@6", "1@7", "1@8", "1@9"])
        #expect(member.takeRebalance() == nil)
        // The final revocation applies itself: nobody takes it any more.
        let closing = ContinuousClock.now
        member.close()
        #expect(ContinuousClock.now - closing < .seconds(10))
    }

    @Test func batchPollHandsOverEveryRecordInPlaceOnceWithTheEndsOfPartitions() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("batch")
        try cluster.createTopic(name: topic, partitions: 3)
        let stamps: [Int32: [Int64]] = [
            0: (0..<2_500).map { 1_700_000_000_000 + $0 }, 2: (0..<40).map { 1_700_000_500_000 + $0 * 1_000 },
        ]
        for (partition, timestamps) in stamps {
            try produce(cluster, topic: topic, partition: partition, timestampsMs: timestamps)
        }
        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
        try consumer.assign((0..<3).map { TopicPartitionOffset(topic: topic, partition: $0, offset: -2) }) // beginning
        var seen: [String] = []
        var ends: Set<String> = []
        var largestBatch = 0
        let deadline = ContinuousClock.now + .seconds(20)
        while ends.count < 3 && ContinuousClock.now < deadline {
            // Fewer per call than are waiting, so that batches are cut and resumed.
            let batch = consumer.poll(timeout: .milliseconds(100), maximum: 700) { record in
                let value = record.value.map { String(decoding: $0, as: UTF8.self) } ?? "nil"
                seen.append("\(record.partition)@\(record.offset)=\(value)@\(record.timestampMs ?? -1)")
            }
            largestBatch = max(largestBatch, batch.records)
            for case .endOfPartition(_, let partition, let offset) in batch.events { ends.insert("\(partition)@\(offset)") }
        }
        consumer.close()
        let expected = stamps.flatMap { partition, timestamps in
            timestamps.enumerated().map { "\(partition)@\($0.offset)=\($0.offset)@\($0.element)" }
        }
        #expect(seen.count == expected.count)
        #expect(Set(seen) == Set(expected))
        #expect(ends == ["0@2500", "1@0", "2@40"])
        #expect(largestBatch > 1 && largestBatch <= 700)
    }

    @Test func endOfPartitionSeekAndWatermarks() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("eof")
        try cluster.createTopic(name: topic, partitions: 3)
        try produce(cluster, topic: topic, partition: 0, timestampsMs: [1_700_000_000_000, 1_700_000_001_000])
        try produce(cluster, topic: topic, partition: 2, timestampsMs: [1_700_000_000_000])

        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
        #expect(try consumer.watermarks(topic: topic, partition: 0, timeout: .seconds(5)) == Watermarks(low: 0, high: 2))
        #expect(try consumer.watermarks(topic: topic, partition: 1, timeout: .seconds(5)) == Watermarks(low: 0, high: 0))
        try consumer.assign((0..<3).map { TopicPartitionOffset(topic: topic, partition: $0, offset: -2) }) // -2: beginning
        let events = drain(consumer) { $0.endsOfPartition.count >= 3 }
        #expect(Set(events.endsOfPartition.map { "\($0.partition)@\($0.offset)" }) == ["0@2", "1@0", "2@1"])
        #expect(events.records.count == 3)

        try consumer.seek(TopicPartitionOffset(topic: topic, partition: 0, offset: 1), timeout: .seconds(5))
        let again = drain(consumer) { !$0.records.isEmpty }
        #expect(again.records.map(\.offset) == [1])
        #expect(again.records.first?.timestampMs == 1_700_000_001_000)
        consumer.close()
    }

    @Test func offsetsForTimesFallsBackToScanningOnTheMock() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("bytime")
        try cluster.createTopic(name: topic, partitions: 3)
        let t0: Int64 = 1_700_000_000_000
        try produce(cluster, topic: topic, partition: 0, timestampsMs: [0, 1000, 2000, 3000, 4000].map { t0 + $0 })
        try produce(cluster, topic: topic, partition: 1, timestampsMs: [500, 2500].map { t0 + $0 })

        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
        let all: [Int32] = [0, 1, 2]
        #expect(try consumer.offsets(forTimestampMs: t0 + 1500, topic: topic, partitions: all) == [0: 2, 1: 1, 2: 0])
        #expect(try consumer.offsets(forTimestampMs: t0 + 3000, topic: topic, partitions: all) == [0: 3, 1: 2, 2: 0])
        #expect(try consumer.offsets(forTimestampMs: t0 - 1, topic: topic, partitions: [0, 1]) == [0: 0, 1: 0])
        #expect(try consumer.offsets(forTimestampMs: t0 + 10_000, topic: topic, partitions: all) == [0: 5, 1: 2, 2: 0])
        consumer.close()
    }
}
