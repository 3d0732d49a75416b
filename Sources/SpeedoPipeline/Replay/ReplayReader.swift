import Foundation
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// Re-reads a topic between two instants: where each partition starts comes from offsets-for-times (with
/// `KafkaConsumer`'s scan fallback where the broker cannot answer), partitions are assigned by hand (no group,
/// nothing committed), and a partition is done at its first record stamped at or after `until` or at its high
/// watermark as of the start, so a replay ends even while producers keep writing.
package struct ReplayReader {
    package struct Counts {
        /// Records read from Kafka within the start positions and the end of the range.
        package var records = 0
        /// Readings handed on (in the range and of a chosen sensor).
        package var readings = 0
        /// Records that are not valid readings (e.g. written by another producer); skipped.
        package var invalid = 0
    }

    package var configuration: KafkaConfiguration
    package var topic: String
    package var since: Timestamp
    package var until: Timestamp
    /// Empty: every sensor.
    package var sensors: Set<String>
    /// How long to wait for a broker at startup (`--connect-timeout`).
    package var connectTimeout: Duration
    package var stop: StopRequest
    package var notes: Notes

    package init(
        configuration: KafkaConfiguration, topic: String, since: Timestamp, until: Timestamp, sensors: Set<String>,
        connectTimeout: Duration, stop: StopRequest, notes: Notes
    ) {
        (self.notes, self.configuration, self.topic, self.since) = (notes, configuration, topic, since)
        (self.until, self.sensors, self.connectTimeout, self.stop) = (until, sensors, connectTimeout, stop)
    }

    /// Reads the range, calling `emit` with batches of readings in partition order; blocks.
    package func run(progress: ReplayProgress?, _ emit: ([Reading]) throws -> Bool) throws -> Counts {
        let admin = try KafkaAdmin(configuration: configuration)
        let connection = try admin.connect(within: connectTimeout) { notice in
            notes.note("speedo replay: \(notice)")
            return !stop.isRequested
        }
        guard connection == .connected else { return Counts() }
        let highs = try admin.watermarks(topic: topic).mapValues(\.high)
        let consumer = try KafkaConsumer(configuration: configuration, groupID: nil, reportEndOfPartition: true)
        defer { consumer.close() }
        let starts = try consumer.offsets(
            forTimestampMs: since.milliseconds, topic: topic, partitions: highs.keys.sorted(), timeout: .seconds(30))
        var pending = Set(starts.filter { partition, start in start < highs[partition] ?? 0 }.keys)
        progress?.expect(offsets: pending.reduce(0) { $0 + highs[$1]! - starts[$1]! })
        guard !pending.isEmpty else { return Counts() }
        try consumer.assign(pending.sorted().map { TopicPartitionOffset(topic: topic, partition: $0, offset: starts[$0]!) })

        // Per record, by partition number: where the range ends (the high watermark at the start), or -1 once the
        // partition is done. An array, not a dictionary: this is looked up for every record.
        var ends = [Int64](repeating: -1, count: Int(pending.max()!) + 1)
        for partition in pending { ends[Int(partition)] = highs[partition]! }
        func finish(_ partition: Int32) {
            if Int(partition) < ends.count { ends[Int(partition)] = -1 }
            pending.remove(partition)
        }

        var counts = Counts()
        var batch: [Reading] = []
        // The validation clock is read once per batch rather than per record (a clock read costs about as much as
        // decoding a record): a `now` older by at most one batch only makes the 5-minute future limit that much
        // stricter.
        var now = Timestamp.current()
        while !pending.isEmpty && !stop.isRequested {
            let polled = consumer.poll(timeout: .milliseconds(100), maximum: 10_000) { record in
                let partition = Int(record.partition)
                guard partition < ends.count, record.offset < ends[partition] else { return }
                if let stamp = record.timestampMs, stamp * 1_000 >= until.microseconds {
                    finish(record.partition)
                    return
                }
                if record.offset + 1 >= ends[partition] { finish(record.partition) }
                counts.records += 1
                progress?.advance(offsets: 1)
                guard let value = record.value, case .success(let reading) = ReadingDecoder.decode(
                        value: value, now: now, missingTime: .recorded(kafkaTimestampMs: record.timestampMs))
                else {
                    counts.invalid += 1
                    return
                }
                guard reading.timestamp >= since, reading.timestamp < until,
                    sensors.isEmpty || sensors.contains(reading.sensorID)
                else { return }
                batch.append(reading)
            }
            for event in polled.events {
                switch event {
                case .endOfPartition(_, let partition, _):
                    finish(partition)
                case .error(let error):
                    if error.isFatal { throw error }
                    notes.note("speedo replay: \(error)")
                case .record:
                    break
                }
            }
            // Handed on in blocks for throughput, and whenever Kafka pauses so that a slow stream is not held back.
            if !batch.isEmpty, batch.count >= 10_000 || pending.isEmpty || polled.isEmpty {
                counts.readings += batch.count
                guard try emit(batch) else { break }
                batch.removeAll(keepingCapacity: true)
                now = Timestamp.current()
            }
        }
        if !batch.isEmpty {
            counts.readings += batch.count
            _ = try emit(batch)
        }
        return counts
    }
}
