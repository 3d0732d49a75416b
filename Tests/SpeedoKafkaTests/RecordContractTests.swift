import Synchronization
import Testing
import SpeedoCore
import SpeedoKafka

/// The record contract every reader applies (readings and speed-latest alike), and latest states written by
/// `ReadingPublisher` as readings are: keyed by sensor, stamped with the reading's time.
@Suite("Record contract")
struct RecordContractTests {
    private let now = Timestamp(microseconds: 1_700_000_100_000_000)
    private let reading = Reading(sensorID: "sensor-1", speed: 42.5, timestamp: Timestamp(microseconds: 1_700_000_000_500_000))
    private var state: LatestState {
        LatestState(
            reading: reading, windowSeconds: 60,
            statistics: RollingStats.Summary(count: 2, minimum: 40, average: 41.25, maximum: 42.5))
    }

    private func record(key: String?, value: [UInt8]?) -> ConsumedRecord {
        ConsumedRecord(
            topic: "t", partition: 0, offset: 7, key: key.map { Array($0.utf8) }, value: value,
            timestampMs: reading.timestamp.milliseconds, headers: [])
    }

    @Test func aRecordKeyedByAnotherSensorIsInvalidForEveryReader() {
        guard case .invalid(let letter) = record(key: "sensor-2", value: CanonicalJSON.encode(reading)).verdict(now: now)
        else { return #expect(Bool(false), "a reading keyed otherwise was accepted") }
        #expect(letter.code == "key-mismatch" && letter.reason.contains("must equal sensor_id"))
        guard case .invalid(let latest)? = record(key: "sensor-2", value: state.encoded()).latestStateVerdict(now: now)
        else { return #expect(Bool(false), "a latest state keyed otherwise was accepted") }
        #expect(latest.code == "key-mismatch")

        // No key at all is tolerated; a tombstone is no state.
        guard case .valid(let unkeyed)? = record(key: nil, value: state.encoded()).latestStateVerdict(now: now)
        else { return #expect(Bool(false), "an unkeyed state was refused") }
        #expect(unkeyed == state)
        #expect(record(key: "sensor-1", value: nil).latestStateVerdict(now: now) == nil)
        guard case .invalid(let broken)? = record(key: "sensor-1", value: Array("{}".utf8)).latestStateVerdict(now: now)
        else { return #expect(Bool(false), "an empty object was accepted as a state") }
        #expect(broken.code == "missing-field")
    }

    @Test func aLatestStateIsPublishedKeyedAndStampedLikeItsReading() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("latest")
        try cluster.createTopic(name: topic, partitions: 1)
        let reports = DeliveryLog()
        let publisher = try ReadingPublisher(
            configuration: configuration(cluster), topic: topic, deliveryHandler: reports.handler)
        try publisher.publish(state, tag: 5, whenQueueFull: .wait(until: nil))
        #expect(publisher.flush(timeout: .seconds(10)) == 0)
        #expect(reports.wait(for: 1).map(\.tag) == [5])
        publisher.close()

        let consumer = try KafkaConsumer(configuration: configuration(cluster), groupID: nil)
        defer { consumer.close() }
        try consumer.assign([TopicPartitionOffset(topic: topic, partition: 0, offset: TopicPartitionOffset.earliest)])
        let read = try #require(drain(consumer) { !$0.records.isEmpty }.records.first)
        #expect(read.key == Array("sensor-1".utf8))
        #expect(read.timestampMs == 1_700_000_000_500)
        #expect(read.value == state.encoded())
        guard case .valid(let decoded)? = read.latestStateVerdict(now: now) else {
            return #expect(Bool(false), "the published state does not read back")
        }
        #expect(decoded == state)
    }
}
