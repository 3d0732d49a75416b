import SpeedoKafka
import Testing

@Suite("Produce and consume against the mock cluster")
struct RoundTripTests {
    @Test func recordsComeBackWithKeysTimestampsHeadersInOrder() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("roundtrip")
        try cluster.createTopic(name: topic, partitions: 3)
        let log = DeliveryLog()
        let producer = try KafkaProducer(configuration: configuration(cluster), deliveryHandler: log.handler)
        try producer.waitForBrokers(timeout: .seconds(5))

        let baseMs: Int64 = 1_700_000_000_000
        let count = 60
        for index in 0..<count {
            try producer.send(
                topic: topic,
                key: Array("sensor-\(index % 7)".utf8),
                value: Array("{\"speed\":\(index)}".utf8),
                timestampMs: baseMs + Int64(index) * 1000,
                headers: [KafkaHeader(name: "origin", value: Array("test-\(index)".utf8))],
                tag: UInt64(1000 + index)
            )
        }
        #expect(producer.flush(timeout: .seconds(10)) == 0)
        let reports = log.wait(for: count)
        #expect(reports.count == count)
        #expect(reports.allSatisfy { $0.error == nil && $0.topic == topic })
        #expect(Set(reports.map(\.tag)) == Set((0..<count).map { UInt64(1000 + $0) }))
        producer.close()

        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: uniqueName("g"))
        try consumer.subscribe(topics: [topic])
        let events = drain(consumer) { $0.records.count >= count }
        consumer.close()
        let records = events.records
        #expect(records.count == count)

        // Each record matches what we sent, and its offset matches its delivery report.
        let reportByTag = Dictionary(uniqueKeysWithValues: reports.map { ($0.tag, $0) })
        for record in records {
            let value = String(decoding: record.value ?? [], as: UTF8.self)
            let index = try #require(Int(value.dropFirst(9).dropLast()))
            #expect(record.key == Array("sensor-\(index % 7)".utf8))
            #expect(record.timestampMs == baseMs + Int64(index) * 1000)
            #expect(record.headers == [KafkaHeader(name: "origin", value: Array("test-\(index)".utf8))])
            let report = try #require(reportByTag[UInt64(1000 + index)])
            #expect(report.partition == record.partition && report.offset == record.offset)
        }
        // Per partition, records arrive in the order they were sent, one key always in one partition.
        for partition in Set(records.map(\.partition)) {
            let inPartition = records.filter { $0.partition == partition }
            #expect(inPartition.map(\.offset) == inPartition.map(\.offset).sorted())
            #expect(inPartition.map(\.timestampMs!) == inPartition.map(\.timestampMs!).sorted())
        }
        let partitionsByKey = Dictionary(grouping: records, by: \.key).mapValues { Set($0.map(\.partition)) }
        #expect(partitionsByKey.values.allSatisfy { $0.count == 1 })
    }
}
