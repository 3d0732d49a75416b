import Foundation
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// Re-reads a topic between two instants, for `replay` and `verify`: where each partition starts comes from
/// offsets-for-times (with `KafkaConsumer`'s scan fallback where the broker cannot answer), partitions are assigned by
/// hand (no group, nothing committed), and a partition ends at its high watermark as of the start, so a read ends
/// even while producers keep writing.
package struct TopicRangeReader {
    /// Where a partition's part of the range ends.
    package enum End: Sendable {
        /// At its first record stamped at or after `until`, or its high watermark (replay: records are in time order
        /// but for stragglers, which a replay may leave out).
        case firstRecordAtOrAfterUntil
        /// At its high watermark: every record after the start is read, however late its time (verify).
        case highWatermark
    }

    /// What replay's `run` read.
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
    /// Names the command in notes.
    package var command: String

    package init(
        configuration: KafkaConfiguration, topic: String, since: Timestamp, until: Timestamp, sensors: Set<String>,
        connectTimeout: Duration, stop: StopRequest, notes: Notes, command: String = "replay"
    ) {
        (self.notes, self.configuration, self.topic, self.since) = (notes, configuration, topic, since)
        (self.until, self.sensors, self.connectTimeout, self.stop) = (until, sensors, connectTimeout, stop)
        self.command = command
    }

    /// Reads the range, calling `emit` with batches of valid readings in the range and of the chosen sensors, in
    /// partition order; blocks.
    package func run(progress: ReplayProgress?, _ emit: ([Reading]) throws -> Bool) throws -> Counts {
        var counts = Counts()
        var batch: [Reading] = []
        // The validation clock is read once per batch rather than per record (a clock read costs about as much as
        // decoding a record): a `now` older by at most one batch only makes the 5-minute future limit that much
        // stricter.
        var now = Timestamp.current()
        var open = true
        try scan(end: .firstRecordAtOrAfterUntil, progress: progress) { record in
            counts.records += 1
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
        } afterPoll: { finished, idle in
            // Handed on in blocks for throughput, and whenever Kafka pauses so that a slow stream is not held back.
            guard !batch.isEmpty, batch.count >= 10_000 || finished || idle else { return true }
            counts.readings += batch.count
            open = try emit(batch)
            batch.removeAll(keepingCapacity: true)
            now = Timestamp.current()
            return open
        }
        if !batch.isEmpty && open {
            counts.readings += batch.count
            _ = try emit(batch)
        }
        return counts
    }

    /// Reads every partition from its start to `end`, handing each record to `onRecord` (not filtered by time or
    /// sensor) and calling `afterPoll` after every poll with whether all partitions are done and whether the poll
    /// found nothing; `afterPoll` returns false to stop early. `expecting` hears first how many offsets the range
    /// spans (an upper bound of the records to come). Returns the topic's watermarks as of the start (nil when stopped
    /// before a broker answered). Blocks.
    @discardableResult
    package func scan(
        end: End, progress: ReplayProgress?, expecting: (Int64) -> Void = { _ in }, onRecord: (RecordView) throws -> Void,
        afterPoll: (_ finished: Bool, _ idle: Bool) throws -> Bool = { _, _ in true }
    ) throws -> [Int32: Watermarks]? {
        let admin = try KafkaAdmin(configuration: configuration)
        let connection = try admin.connect(within: connectTimeout) { notice in
            notes.note("speedo \(command): \(notice)")
            return !stop.isRequested
        }
        guard connection == .connected else { return nil }
        let marks = try admin.watermarks(topic: topic)
        let highs = marks.mapValues(\.high)
        let consumer = try KafkaConsumer(configuration: configuration, groupID: nil, reportEndOfPartition: true)
        defer { consumer.close() }
        let starts = try consumer.offsets(
            forTimestampMs: since.milliseconds, topic: topic, partitions: highs.keys.sorted(), timeout: .seconds(30))
        var pending = Set(starts.filter { partition, start in start < highs[partition] ?? 0 }.keys)
        let span = pending.reduce(0) { $0 + highs[$1]! - starts[$1]! }
        expecting(span)
        progress?.expect(offsets: span)
        guard !pending.isEmpty else { return marks }
        try consumer.assign(pending.sorted().map { TopicPartitionOffset(topic: topic, partition: $0, offset: starts[$0]!) })

        // Per record, by partition number: where the range ends (the high watermark at the start), or -1 once the
        // partition is done. An array, not a dictionary: this is looked up for every record.
        var ends = [Int64](repeating: -1, count: Int(pending.max()!) + 1)
        for partition in pending { ends[Int(partition)] = highs[partition]! }
        func finish(_ partition: Int32) {
            if Int(partition) < ends.count { ends[Int(partition)] = -1 }
            pending.remove(partition)
        }
        let untilMicroseconds = until.microseconds
        while !pending.isEmpty && !stop.isRequested {
            let polled = try consumer.poll(timeout: .milliseconds(100), maximum: 10_000) { record in
                let partition = Int(record.partition)
                guard partition < ends.count, record.offset < ends[partition] else { return }
                if case .firstRecordAtOrAfterUntil = end, let stamp = record.timestampMs,
                    stamp * 1_000 >= untilMicroseconds {
                    finish(record.partition)
                    return
                }
                if record.offset + 1 >= ends[partition] { finish(record.partition) }
                progress?.advance(offsets: 1)
                try onRecord(record)
            }
            for event in polled.events {
                switch event {
                case .endOfPartition(_, let partition, _):
                    finish(partition)
                case .error(let error):
                    if error.isFatal { throw error }
                    notes.note("speedo \(command): \(error)")
                case .record:
                    break
                }
            }
            guard try afterPoll(pending.isEmpty, polled.isEmpty) else { break }
        }
        return marks
    }
}
