import Foundation
package import SpeedoCore
package import SpeedoKafka
import Synchronization
import Testing

/// A record as a test sends it: possibly not a valid reading.
package struct TestRecord: Sendable {
    package var key: String?
    package var value: String
    package var timestampMs: Int64?

    package init(key: String?, value: String, timestampMs: Int64? = nil) {
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
    }

    /// A reading as `ingest` publishes it.
    package init(_ reading: Reading) {
        self.init(
            key: reading.sensorID, value: String(decoding: CanonicalJSON.encode(reading), as: UTF8.self),
            timestampMs: reading.timestamp.microseconds / 1000)
    }
}

/// Produces `records`, acknowledged by the broker before returning; with `duration`, in 50 ms steps spread over
/// that time, like a live stream. Blocks.
package func produceRecords(
    _ records: [TestRecord], to topic: String, on cluster: MockCluster, over duration: Duration = .zero
) throws {
    let steps = max(1, Int(duration / .milliseconds(50)))
    let perStep = (records.count + steps - 1) / steps
    let failures = DeliveryFailures()
    let producer = try KafkaProducer(
        configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers),
        deliveryHandler: { failures.record($0) })
    for (index, record) in records.enumerated() {
        if index > 0, index % perStep == 0 { Thread.sleep(forTimeInterval: 0.05) }
        try producer.send(
            topic: topic, key: record.key.map { Array($0.utf8) }, value: Array(record.value.utf8),
            timestampMs: record.timestampMs, tag: UInt64(index), whenQueueFull: .wait(until: nil))
    }
    let outstanding = producer.close(flushTimeout: .seconds(60))
    try #require(outstanding == 0 && failures.count == 0, "\(outstanding) undelivered, \(failures.count) failed")
}

private final class DeliveryFailures: Sendable {
    private let failures = Mutex(0)
    func record(_ report: DeliveryReport) { if report.error != nil { failures.withLock { $0 += 1 } } }
    var count: Int { failures.withLock { $0 } }
}

/// Every record on `topic`'s `partitions`, read from the start with a consumer of its own until the end of each
/// partition. Blocks.
package func readTopic(
    _ topic: String, partitions: Int32, on cluster: MockCluster, timeout: Duration = .seconds(15)
) throws(KafkaError) -> [ConsumedRecord] {
    let consumer = try KafkaConsumer(
        configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), groupID: nil)
    defer { consumer.close() }
    try consumer.assign((0..<partitions).map { TopicPartitionOffset(topic: topic, partition: $0, offset: 0) })
    var records: [ConsumedRecord] = []
    var finished: Set<Int32> = []
    let deadline = ContinuousClock.now + timeout
    while finished.count < partitions && ContinuousClock.now < deadline {
        switch consumer.poll(timeout: .milliseconds(100)) {
        case .record(let record): records.append(record)
        case .endOfPartition(_, let partition, _): finished.insert(partition)
        default: break
        }
    }
    guard finished.count == partitions else {
        throw KafkaError(code: .timedOut, message: "did not reach the end of every partition of \(topic)")
    }
    return records
}
