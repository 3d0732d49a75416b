import Foundation
import SpeedoCore
@testable import SpeedoKafka
import Testing

@Suite("ReadingPublisher against the mock cluster")
struct ReadingPublisherTests {
    private static let base = Timestamp(microseconds: 1_700_000_000_000_000)

    /// Readings with whole and fractional speeds and times, and ids using every allowed punctuation.
    private static func readings(_ count: Int, prefix: String = "sensor") -> [Reading] {
        (0..<count).map { index in
            Reading(
                sensorID: "\(prefix)-\(index % 4)._:/x",
                speed: index.isMultiple(of: 2) ? Double(index) : Double(index) + 0.25,
                timestamp: Timestamp(microseconds: base.microseconds + Int64(index) * 1_234_567))
        }
    }

    @Test func streamingAndBatchRecordsCarryKeyCanonicalValueAndTimestamp() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("readings")
            try cluster.createTopic(name: topic, partitions: 3)
            let log = DeliveryLog()
            let publisher = try ReadingPublisher(configuration: configuration(cluster), topic: topic, deliveryHandler: log.handler)
            try publisher.waitForBrokers(timeout: .seconds(5))
            #expect(try publisher.ensureTopic(partitions: 3) == .existed)

            let streamed = Self.readings(30, prefix: "stream")
            for (index, reading) in streamed.enumerated() {
                try publisher.publish(reading, tag: UInt64(500 + index), whenQueueFull: .fail)
            }
            let batch = Self.readings(20, prefix: "batch")
            let outcome = await publisher.publish(batch, deadline: .now + .seconds(10))
            #expect(outcome.records == Array(repeating: .delivered, count: batch.count))
            #expect(outcome.isFullyDelivered && !outcome.hitFullQueue)
            #expect(publisher.flush(timeout: .seconds(10)) == 0)

            // Only streaming records reach the handler, with their own tags.
            let reports = log.wait(for: streamed.count)
            #expect(Set(reports.map(\.tag)) == Set((0..<streamed.count).map { UInt64(500 + $0) }))
            #expect(reports.allSatisfy { $0.error == nil })
            #expect(publisher.close() == 0)

            let records = try consumeAll(cluster, topic: topic, partitions: 3, expecting: streamed.count + batch.count)
            let expected = (streamed + batch).map { reading in
                WireRecord(
                    key: Array(reading.sensorID.utf8), value: CanonicalJSON.encode(reading),
                    timestampMs: reading.timestamp.microseconds / 1000)
            }
            #expect(records.sorted() == expected.sorted())
            // Canonical form spelled out once, independently of CanonicalJSON.
            #expect(records.map { String(decoding: $0.value, as: UTF8.self) }.contains(#"{"sensor_id":"batch-1._:/x","speed":1.25,"ts":1700000001.234567}"#))
        }
    }

    @Test func batchFailsWhileTheBrokerIsDownAndIsDeliveredOnceItIsBack() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("down-up")
            try cluster.createTopic(name: topic, partitions: 1)
            let publisher = try ReadingPublisher(
                configuration: configuration(cluster, [("message.timeout.ms", "2500"), ("reconnect.backoff.max.ms", "200")]),
                topic: topic)
            try publisher.waitForBrokers(timeout: .seconds(5))

            try cluster.setBroker(1, up: false)
            let lost = await publisher.publish(Self.readings(5), deadline: .now + .seconds(10))
            #expect(lost.records.count == 5)
            #expect(lost.records.allSatisfy { if case .failed(let error) = $0 { error.isRetriable } else { false } }, "\(lost)")

            try cluster.setBroker(1, up: true)
            try publisher.waitForBrokers(timeout: .seconds(5))
            let delivered = await publisher.publish(Self.readings(5), deadline: .now + .seconds(10))
            #expect(delivered.isFullyDelivered, "\(delivered)")
            #expect(publisher.close() == 0)
        }
    }

    @Test func retriableProduceErrorsAreRetriedAndPermanentOnesReported() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("request-errors")
            try cluster.createTopic(name: topic, partitions: 1)
            let publisher = try ReadingPublisher(configuration: configuration(cluster), topic: topic)
            try publisher.waitForBrokers(timeout: .seconds(5))

            // 19 NOT_ENOUGH_REPLICAS: retried by the idempotent producer without duplicates.
            cluster.pushRequestErrors(apiKey: 0, errors: [19, 19])
            let retried = await publisher.publish(Self.readings(3), deadline: .now + .seconds(10))
            #expect(retried.isFullyDelivered, "\(retried)")

            // 87 INVALID_RECORD: the broker refuses the records for good.
            cluster.pushRequestErrors(apiKey: 0, errors: [87])
            let refused = await publisher.publish(Self.readings(1), deadline: .now + .seconds(10))
            #expect(refused.records.count == 1)
            guard case .failed(let error) = refused.records[0] else {
                Issue.record("expected a failed record, got \(refused)")
                return
            }
            #expect(error.code == .librdkafka(87))
            publisher.close()
            let onTopic = try consumeAll(cluster, topic: topic, partitions: 1, expecting: 3)
            #expect(onTopic.count == 3)
        }
    }

    @Test func fullQueueFailsTheRestOfTheBatchAtOnce() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("queue-full")
            try cluster.createTopic(name: topic, partitions: 1)
            try cluster.setRoundTripTime(broker: 1, milliseconds: 400)
            let publisher = try ReadingPublisher(
                configuration: configuration(cluster, [("queue.buffering.max.messages", "5")]), topic: topic)
            try publisher.waitForBrokers(timeout: .seconds(5))

            let clock = ContinuousClock()
            let started = clock.now
            let outcome = await publisher.publish(Self.readings(12), deadline: .now + .seconds(30))
            #expect(clock.now - started < .seconds(10), "a full queue must not make the batch wait for room")
            #expect(outcome.hitFullQueue)
            #expect(Array(outcome.records.prefix(5)) == Array(repeating: .delivered, count: 5))
            #expect(outcome.records.dropFirst(5).allSatisfy {
                if case .notQueued(let error) = $0 { error.isQueueFull } else { false }
            }, "\(outcome)")
            #expect(publisher.close() == 0)
        }
    }

    @Test(arguments: [nil, "murmur2_random"])
    func assignedPartitionsAreLibrdkafkasAndGroupTheRecordsInInputOrder(partitioner: String?) async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("order")
            try cluster.createTopic(name: topic, partitions: 5)
            let log = DeliveryLog()
            let properties = partitioner.map { [("partitioner", $0)] } ?? []
            let publisher = try ReadingPublisher(
                configuration: configuration(cluster, properties), topic: topic, deliveryHandler: log.handler)
            try publisher.waitForBrokers(timeout: .seconds(5))
            let readings = (0..<300).map { index in
                Reading(
                    sensorID: "sensor-\(index % 37)", speed: 1,
                    timestamp: Timestamp(microseconds: Self.base.microseconds + Int64(index)))
            }

            var records = EncodedRecords()
            for (index, reading) in readings.enumerated() {
                records.append(reading, canonicalValue: nil, tag: UInt64(index))
            }
            publisher.assignPartitions(&records)
            let order = (0..<records.count).map { Int(records.tag(at: $0)) }
            #expect(order.sorted() == Array(readings.indices))
            for index in readings.indices {
                try publisher.publish(readings[index], tag: UInt64(index), whenQueueFull: .fail)
            }
            // The partitions librdkafka's partitioner really chose: each record was assigned its own, in the order
            // given they never go back, and within one partition the input order is kept.
            let partitionOf = Dictionary(uniqueKeysWithValues: log.wait(for: readings.count).map { (Int($0.tag), $0.partition) })
            #expect(records.records.map { Optional($0.partition) } == order.map { partitionOf[$0] })
            let sequence = order.map { (partitionOf[$0] ?? -1, $0) }
            #expect(sequence.map(\.0) == sequence.map(\.0).sorted())
            #expect(sequence.elementsEqual(sequence.sorted { $0 < $1 }) { $0 == $1 })
            #expect(Set(partitionOf.values).count == 5)
            #expect(publisher.close() == 0)
        }
    }

    @Test func deadlineReturnsWhatIsStillInFlightAsUnconfirmed() async throws {
        try await onOwnThread {
            let cluster = try MockCluster()
            let topic = uniqueName("deadline")
            try cluster.createTopic(name: topic, partitions: 1)
            let publisher = try ReadingPublisher(configuration: configuration(cluster), topic: topic)
            try publisher.waitForBrokers(timeout: .seconds(5))
            try cluster.setBroker(1, up: false)

            let clock = ContinuousClock()
            let started = clock.now
            let outcome = await publisher.publish(Self.readings(4), deadline: .now + .milliseconds(800))
            let waited = clock.now - started
            #expect(waited >= .milliseconds(800) && waited < .seconds(5))
            #expect(outcome.records == Array(repeating: .unconfirmed, count: 4))
            #expect(publisher.outstandingCount == 4)

            // Their late reports must not disturb the next batch.
            try cluster.setBroker(1, up: true)
            let next = await publisher.publish(Self.readings(2), deadline: .now + .seconds(10))
            #expect(next.isFullyDelivered, "\(next)")
            #expect(publisher.close() == 0)
            #expect(try consumeAll(cluster, topic: topic, partitions: 1, expecting: 6).count == 6)
        }
    }
}

struct WireRecord: Hashable, Comparable {
    var key: [UInt8]
    var value: [UInt8]
    var timestampMs: Int64

    static func < (lhs: WireRecord, rhs: WireRecord) -> Bool {
        lhs.value == rhs.value ? lhs.timestampMs < rhs.timestampMs : lhs.value.lexicographicallyPrecedes(rhs.value)
    }
}

/// Reads every partition from the start until `expecting` records arrived and every partition reached its end
/// (or 10 s passed), so that duplicates would be seen too.
func consumeAll(_ cluster: MockCluster, topic: String, partitions: Int32, expecting count: Int) throws -> [WireRecord] {
    let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
    try consumer.assign((0..<partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: 0) })
    let events = drain(consumer) { events in
        events.records.count >= count && Set(events.endsOfPartition.map(\.partition)).count == Int(partitions)
    }
    consumer.close()
    return events.records.map { record in
        WireRecord(key: record.key ?? [], value: record.value ?? [], timestampMs: record.timestampMs ?? -1)
    }
}
