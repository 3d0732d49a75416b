import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Synchronization
import Testing

/// `speedo ingest`'s engine (`IngestSession` on a publisher connected as `IngestFiles` connects it) in process
/// against the mock cluster.
@Suite struct IngestSessionTests {
    /// A producer queue of ten records (`-X queue.buffering.max.messages=10`, over librdkafka's and speedo's
    /// defaults) for two thousand readings: the producing thread has to wait for room again and again, and every
    /// reading is still published, confirmed and on the topic once, in order per sensor.
    @Test func aFullProducerQueueMakesIngestWaitAndDropsNothing() async throws {
        let cluster = try MockCluster()
        let topic = "backpressure"
        try cluster.createTopic(name: topic, partitions: 2)
        let count = 2_000
        let base = Int(Date().timeIntervalSince1970) - 3_600
        let lines = (0..<count).map { #"{"sensor_id":"s-\#($0 % 5)","speed":\#($0 % 300),"ts":\#(base + $0)}"# }
        let input = try TemporaryFile()
        try input.handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        let settings = try ConnectionSettings.resolve(
            brokersFlag: cluster.bootstrapServers, databaseURLFlag: nil, topicFlag: topic,
            kafkaPropertyArguments: ["queue.buffering.max.messages=10"], environment: [:], devStack: nil)
        let path = input.path

        let (ending, summary, confirmed, notes) = try await runOnDedicatedThread(name: "speedo-test") {
            let notes = Mutex<[String]>([])
            let collected = Notes { line in notes.withLock { $0.append(line) } }
            let stop = StopRequest()
            let tally = DeliveryTally(inputNames: [path], notes: collected)
            let publisher = try ReadingPublisher.connected(
                settings: settings,
                options: PublishingSettings(partitions: 2, connectTimeout: .seconds(10)),
                command: "ingest", stop: stop, notes: collected, deliveryHandler: tally.record)
            var session = IngestSession(
                publisher: publisher, tally: tally, stop: stop, rejects: nil, format: nil, maxErrors: nil,
                notes: collected)
            let ending = try session.read([SpeedoPipeline.InputStream(path: path)])
            session.finish(interrupted: false)
            let summary = session.summary()
            return (ending, summary, publisher.confirmedCount, notes.withLock { $0 })
        }
        #expect(ending == .endOfInput)
        #expect(summary.undelivered == 0 && summary.rejected == 0, "\(summary.text); \(notes)")
        #expect(confirmed == count, "\(summary.text)")
        #expect(summary.waitsForRoom > 0, "the producer never waited for room: was the queue bound applied?")

        let records = try await runOnDedicatedThread(name: "speedo-test") {
            try readTopic(topic, partitions: 2, on: cluster)
        }
        let values = records.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        let expected = (0..<count).map { index in
            String(decoding: CanonicalJSON.encode(Reading(
                sensorID: "s-\(index % 5)", speed: Double(index % 300),
                timestamp: Timestamp(microseconds: Int64(base + index) * 1_000_000))), as: UTF8.self)
        }
        #expect(values.count == count, "\(values.count) records on the topic for \(count) readings")
        let missing = Set(expected).subtracting(values)
        #expect(missing.count == 0, "\(missing.count) readings are not on the topic, e.g. \(missing.sorted().prefix(3))")
        // Each sensor's readings in input order (one partition per sensor, read in offset order), each record stamped
        // with its reading's time.
        for sensor in 0..<5 {
            let sensorRecords = records.filter { $0.key == Array("s-\(sensor)".utf8) }.sorted { $0.offset < $1.offset }
            #expect(Set(sensorRecords.map(\.partition)).count == 1, "sensor s-\(sensor) is spread over partitions")
            let times = sensorRecords.compactMap(\.timestampMs)
            #expect(times.count == count / 5, "sensor s-\(sensor)")
            #expect(Set(times.map { ($0 / 1000 - Int64(base)) % 5 }) == [Int64(sensor)], "sensor s-\(sensor)'s times")
            #expect(times == times.sorted(), "sensor s-\(sensor)'s readings are out of order")
        }
    }
}
