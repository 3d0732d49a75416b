import Foundation
import SpeedoKafka
import Testing

@Suite("Producer against the mock cluster")
struct ProducerTests {
    @Test func deliveryReportsCarryTagsAndOffsetsInSendOrder() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("reports")
        try cluster.createTopic(name: topic, partitions: 2)
        let log = DeliveryLog()
        let producer = try KafkaProducer(configuration: configuration(cluster), deliveryHandler: log.handler)
        let tags = (0..<25).map { _ in UInt64.random(in: 1...UInt64.max) }
        for tag in tags {
            try producer.send(topic: topic, key: nil, value: Array("\(tag)".utf8), partition: 1, tag: tag)
        }
        #expect(producer.flush(timeout: .seconds(10)) == 0)
        #expect(producer.outstandingCount == 0)
        let reports = log.wait(for: tags.count)
        #expect(reports.map(\.tag) == tags)
        #expect(reports.map(\.offset) == Array(0..<Int64(tags.count)))
        #expect(reports.allSatisfy { $0.partition == 1 && $0.topic == topic && $0.error == nil })
        #expect(producer.close() == 0)
        #expect(producer.close() == 0)
        #expect(throws: KafkaError.self) {
            try producer.send(topic: topic, key: nil, value: [1], tag: 0)
        }
    }

    @Test func fullQueueFailsFastOrWaits() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("backpressure")
        try cluster.createTopic(name: topic, partitions: 1)
        // A slow broker and a tiny queue: the queue stays full while the first records are in flight.
        try cluster.setRoundTripTime(broker: 1, milliseconds: 300)
        let log = DeliveryLog()
        let producer = try KafkaProducer(
            configuration: configuration(cluster, [("queue.buffering.max.messages", "5")]),
            deliveryHandler: log.handler)
        var tag: UInt64 = 0
        func next() -> UInt64 { tag += 1; return tag }

        var queueFull: KafkaError?
        for _ in 0..<10 where queueFull == nil {
            do { try producer.send(topic: topic, key: nil, value: [1], tag: next()) } catch { queueFull = error; tag -= 1 }
        }
        let failure = try #require(queueFull)
        #expect(failure.isQueueFull && failure.isRetriable)
        #expect(failure.description.contains("queue.buffering.max.messages"))
        #expect(tag == 5)

        let clock = ContinuousClock()
        let started = clock.now
        let timedOut = #expect(throws: KafkaError.self) {
            try producer.send(topic: topic, key: nil, value: [2], tag: 99, whenQueueFull: .wait(until: clock.now + .milliseconds(100)))
        }
        #expect(timedOut?.isQueueFull == true)
        #expect(clock.now - started >= .milliseconds(100))

        for _ in 0..<20 {
            try producer.send(topic: topic, key: nil, value: [3], tag: next(), whenQueueFull: .wait(until: clock.now + .seconds(15)))
        }
        #expect(producer.flush(timeout: .seconds(15)) == 0)
        let reports = log.wait(for: 25)
        #expect(reports.map(\.tag) == Array(1...25))
        #expect(reports.allSatisfy { $0.error == nil })
    }

    @Test func recordsSentWhileTheBrokerIsDownArriveOnceWhenItIsBack() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("outage")
        try cluster.createTopic(name: topic, partitions: 1)
        let log = DeliveryLog()
        let config = configuration(cluster, [("reconnect.backoff.max.ms", "200")])
        let producer = try KafkaProducer(configuration: config, deliveryHandler: log.handler)
        try producer.waitForBrokers(timeout: .seconds(5))

        try cluster.setBroker(1, up: false)
        for index in 0..<10 {
            try producer.send(topic: topic, key: nil, value: Array("r\(index)".utf8), tag: UInt64(index))
        }
        #expect(producer.flush(timeout: .seconds(1)) == 10)
        #expect(log.all.isEmpty)

        // Retriable produce errors make librdkafka resend; idempotence keeps the resends from duplicating.
        cluster.pushRequestErrors(apiKey: 0, errors: [19, 19]) // NOT_ENOUGH_REPLICAS
        try cluster.setBroker(1, up: true)
        #expect(producer.flush(timeout: .seconds(15)) == 0)
        let reports = log.wait(for: 10)
        #expect(reports.count == 10 && reports.allSatisfy { $0.error == nil })
        #expect(Set(reports.map(\.offset)) == Set(0..<10))
        producer.close()

        let consumer = try KafkaConsumer(configuration: config, groupID: nil)
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: 0)])
        let events = drain(consumer) { !$0.endsOfPartition.isEmpty }
        #expect(events.records.map { String(decoding: $0.value ?? [], as: UTF8.self) } == (0..<10).map { "r\($0)" })
        #expect(events.endsOfPartition.first?.offset == 10)
    }

    @Test func closeReportsEveryUndeliveredRecord() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("abandon")
        try cluster.createTopic(name: topic, partitions: 1)
        try cluster.setBroker(1, up: false)
        let log = DeliveryLog()
        let producer = try KafkaProducer(configuration: configuration(cluster), deliveryHandler: log.handler)
        for index in 0..<4 { try producer.send(topic: topic, key: [1], value: [2], tag: UInt64(index)) }
        #expect(producer.close(flushTimeout: .milliseconds(300)) == 4)
        let reports = log.all
        #expect(Set(reports.map(\.tag)) == [0, 1, 2, 3])
        #expect(reports.allSatisfy { $0.error != nil && $0.offset == -1 })
    }

    @Test func idempotenceAndAcksCannotBeWeakened() throws {
        let config = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: [("acks", "1")])
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: config) { _ in }
        }
        #expect(error?.code == .forbiddenProperty)
        #expect(error?.description.contains("acks=1") == true)
        #expect(error?.description.contains("acks=all") == true)

        let restated = KafkaConfiguration(
            bootstrapServers: "127.0.0.1:1", properties: [("enable.idempotence", "true"), ("acks", "-1")])
        _ = try KafkaProducer(configuration: restated) { _ in }
    }

    /// An unknown name is shown without its value, which may be a password under a mistyped key.
    @Test(arguments: [
        ("no.such.property", "1", "No such configuration property", "property no.such.property: "),
        ("linger.ms", "soon", "Invalid value", "property linger.ms=soon: "),
    ])
    func badPropertyIsNamed(key: String, value: String, reason: String, shown: String) throws {
        let config = KafkaConfiguration(bootstrapServers: "127.0.0.1:1", properties: [(key, value)])
        let error = #expect(throws: KafkaError.self) {
            try KafkaProducer(configuration: config) { _ in }
        }
        #expect(error?.code == .invalidProperty)
        #expect(error?.description.contains(shown) == true, "\(String(describing: error))")
        #expect(error?.description.contains(reason) == true)
    }

    @Test func waitForBrokersNamesTheServersWhenNobodyAnswers() throws {
        let cluster = try MockCluster()
        let servers = cluster.bootstrapServers
        try cluster.setBroker(1, up: false)
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: servers))
        let clock = ContinuousClock()
        let started = clock.now
        let error = #expect(throws: KafkaError.self) { try admin.waitForBrokers(timeout: .seconds(1)) }
        #expect(clock.now - started < .seconds(3))
        #expect(error?.code == .noBrokersAvailable)
        #expect(error?.description.contains(servers) == true)
    }

    @Test func waitForBrokersRidesOutASlowStart() throws {
        let cluster = try MockCluster()
        try cluster.setBroker(1, up: false)
        let admin = try KafkaAdmin(configuration: configuration(cluster, [("reconnect.backoff.max.ms", "200")]))
        let revived = Thread { [cluster] in
            Thread.sleep(forTimeInterval: 0.7)
            try? cluster.setBroker(1, up: true)
        }
        revived.start()
        try admin.waitForBrokers(timeout: .seconds(10))
    }
}
