package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import SpeedoStore

/// One `speedo verify`: reconciles what the readings topic holds over a range with what `speed_readings` holds over
/// the same range, and says where they disagree.
///
/// The topic is read first (every partition, from the range's start to its high watermark as of then, so late
/// records count too), each record judged by the same contract as the writer (`readingVerdict`); valid ones are kept
/// by (sensor_id, ts), the first of each, as the writer's primary key keeps it. The dead-letter topic is read whole
/// for where its letters came from. Then the rows of the range stream past, a day at a time, each checked off
/// against its record. What remains unchecked is missing, unless the writer group has not reached its offset yet
/// (counted as not yet written, which is lag, not loss). Memory: one entry per valid record of the range.
package struct VerifySession: Sendable {
    package var connection: ConnectionSettings
    package var since: Timestamp
    package var until: Timestamp
    /// Empty: every sensor.
    package var sensors: Set<String>
    /// The `consume postgres` group whose stored offsets say how far the history has been written.
    package var group: String
    package var connectTimeout: Duration

    package init(
        connection: ConnectionSettings, since: Timestamp, until: Timestamp, sensors: Set<String>, group: String,
        connectTimeout: Duration
    ) {
        (self.connection, self.since, self.until, self.sensors) = (connection, since, until, sensors)
        (self.group, self.connectTimeout) = (group, connectTimeout)
    }

    /// Reconciles the range; nil when `stop` was requested first. The topic and the history are read at once, each
    /// on a thread of its own (both block: librdkafka, libpq), and then compared.
    package func run(stop: StopRequest, notes: Notes) async throws -> VerifyReport? {
        async let history = runOnDedicatedThread(name: "speedo.verify.history") { try readHistory(notes: notes) }
        let topicSide = try await runOnDedicatedThread(name: "speedo.verify.topic") { try readTopic(stop: stop, notes: notes) }
        let stored = try await history
        guard let topicSide, !stop.isRequested else { return nil }
        return reconcile(topicSide, stored)
    }

    /// What the topic holds over the range: its valid records sorted by sensor (in name order), time, partition and
    /// offset, so that the first of each sensor and time leads its run.
    private struct TopicSide: Sendable {
        var watermarks: [Int32: Watermarks] = [:]
        var records: [TopicEntry] = []
        /// By sensor number.
        var sensorNames: [String] = []
        var invalid: [InvalidRecord] = []
        /// Where each dead letter came from, with its code.
        var deadLetters: [Position: String] = [:]
        /// The first record read of each partition, for what retention removed before it.
        var firstRead: [Int32: (offset: Int64, timestamp: Timestamp)] = [:]
    }

    /// What the history holds over the range, its rows sorted by sensor (in name order) and time.
    private struct HistorySide: Sendable {
        /// Next offsets stored by the group, by partition.
        var offsets: [Int32: Int64] = [:]
        /// Where the rows start since `db prune` dropped older ones.
        var prunedBefore: Timestamp?
        var rows: [RowEntry] = []
        var sensorNames: [String] = []
    }

    private func readTopic(stop: StopRequest, notes: Notes) throws -> TopicSide? {
        let topic = connection.topic.value
        let configuration = KafkaConfiguration(connection).preferringBulkReads()
        var side = TopicSide()
        var numbering = SensorNumbering()
        let progress = ReplayProgress(notes: notes, command: "verify")
        let reader = TopicRangeReader(
            configuration: configuration, topic: topic, since: since, until: until, sensors: sensors,
            connectTimeout: connectTimeout, stop: stop, notes: notes, command: "verify")
        let now = Timestamp.current()
        let scanned = try reader.scan(
            end: .highWatermark, progress: progress, expecting: { side.records.reserveCapacity(Int($0)) }
        ) { record in
            let recordTime = record.timestampMs.map { Timestamp(microseconds: $0 * 1_000) }
            if side.firstRead[record.partition] == nil, let recordTime {
                side.firstRead[record.partition] = (record.offset, recordTime)
            }
            switch record.verdict(now: now) {
            case .success(let reading):
                guard reading.timestamp >= since, reading.timestamp < until,
                    sensors.isEmpty || sensors.contains(reading.sensorID)
                else { return }
                side.records.append(TopicEntry(
                    sensor: numbering.number(of: reading.sensorID), microseconds: reading.timestamp.microseconds,
                    speed: reading.speed, partition: record.partition, offset: record.offset))
            case .failure(let rejection):
                // Its time is the record's: an invalid value may have none.
                guard let recordTime, recordTime >= since, recordTime < until else { return }
                if !sensors.isEmpty {
                    guard let key = record.key, sensors.contains(String(decoding: key, as: UTF8.self)) else { return }
                }
                side.invalid.append(InvalidRecord(partition: record.partition, offset: record.offset, rejection: rejection))
            }
        }
        progress?.finish()
        guard let scanned, !stop.isRequested else { return nil }
        side.watermarks = scanned
        side.sensorNames = numbering.renumberInNameOrder(&side.records, \.sensor)
        side.records.sort { ($0.sensor, $0.microseconds, $0.partition, $0.offset) < ($1.sensor, $1.microseconds, $1.partition, $1.offset) }
        side.deadLetters = try readDeadLetters(of: topic, configuration: configuration, stop: stop, notes: notes)
        return stop.isRequested ? nil : side
    }

    private func readHistory(notes: Notes) throws -> HistorySide {
        let database = try PostgresConnection.connect(connection.databaseURL.value, retry: .command) {
            notes.note("speedo verify: \($0)")
        }
        defer { database.close() }
        var side = HistorySide(
            offsets: try database.consumerOffsets(group: group, topic: connection.topic.value),
            prunedBefore: try database.rowsPrunedBefore())
        var numbering = SensorNumbering()
        try database.forEachStoredReading(since: since, until: until, sensors: sensors) { sensorID, timestamp, speed in
            side.rows.append(RowEntry(sensor: numbering.number(of: sensorID), microseconds: timestamp.microseconds, speed: speed))
        }
        side.sensorNames = numbering.renumberInNameOrder(&side.rows, \.sensor)
        side.rows.sort { ($0.sensor, $0.microseconds) < ($1.sensor, $1.microseconds) }
        return side
    }

    /// Walks both sorted sides at once, sensor by sensor (in name order) and time by time.
    private func reconcile(_ topicSide: TopicSide, _ history: HistorySide) -> VerifyReport {
        var report = VerifyReport(topic: connection.topic.value, group: group)
        report.validRecords = topicSide.records.count
        report.invalidRecords = topicSide.invalid.count
        report.rows = history.rows.count
        report.compare(offsets: history.offsets, with: topicSide.watermarks)

        // Both sides' sensor numbers in one numbering of every name, in name order, so that keys compare as integers.
        let names = Array(Set(topicSide.sensorNames).union(history.sensorNames)).sorted()
        let rank = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int32($0)) })
        let topicRank = topicSide.sensorNames.map { rank[$0]! }
        let rowRank = history.sensorNames.map { rank[$0]! }

        // Rows older than the first record a truncated partition still holds cannot be checked: their records are gone.
        var horizons: [Int32: Timestamp] = [:]
        for (partition, marks) in topicSide.watermarks where marks.low > 0 {
            if let first = topicSide.firstRead[partition], first.offset == marks.low { horizons[partition] = first.timestamp }
        }
        let latestHorizon = horizons.values.max()
        var partitionOfSensor: [Int32: Int32] = [:]
        for record in topicSide.records where partitionOfSensor[topicRank[Int(record.sensor)]] == nil {
            partitionOfSensor[topicRank[Int(record.sensor)]] = record.partition
        }

        func written(_ partition: Int32, _ offset: Int64) -> Bool { offset < history.offsets[partition] ?? 0 }
        func deadLettered(_ partition: Int32, _ offset: Int64) -> Bool {
            topicSide.deadLetters[Position(partition: partition, offset: offset)] != nil
        }
        let (records, rows) = (topicSide.records, history.rows)
        var (next, row) = (0, 0)
        while next < records.count || row < rows.count {
            let recordKey = next < records.count
                ? (topicRank[Int(records[next].sensor)], records[next].microseconds) : (Int32.max, Int64.max)
            let rowKey = row < rows.count ? (rowRank[Int(rows[row].sensor)], rows[row].microseconds) : (Int32.max, Int64.max)
            if rowKey < recordKey {
                let stored = rows[row]
                let key = ReadingKey(sensorID: names[Int(rowKey.0)], timestamp: Timestamp(microseconds: stored.microseconds))
                let horizon = partitionOfSensor[rowKey.0].map { horizons[$0] } ?? latestHorizon
                if let horizon, key.timestamp < horizon {
                    report.rowsBeforeRetention += 1
                } else {
                    report.findings.append(.unknownOrigin(key, speed: stored.speed))
                }
                row += 1
                continue
            }
            // The run of records with this sensor and time: the first is what the history keeps.
            let first = records[next]
            let key = ReadingKey(sensorID: names[Int(recordKey.0)], timestamp: Timestamp(microseconds: first.microseconds))
            let kept = RecordedReading(speed: first.speed, partition: first.partition, offset: first.offset)
            next += 1
            while next < records.count, records[next].sensor == first.sensor, records[next].microseconds == first.microseconds {
                let other = records[next]
                if other.speed != first.speed {
                    let conflict = Conflict(
                        key: key, kept: kept,
                        other: RecordedReading(speed: other.speed, partition: other.partition, offset: other.offset))
                    report.conflicts.append(conflict)
                    if written(other.partition, other.offset) && !deadLettered(other.partition, other.offset) {
                        report.findings.append(.conflictNotDeadLettered(conflict))
                    }
                }
                next += 1
            }
            if rowKey == recordKey {
                if rows[row].speed != kept.speed { report.findings.append(.mismatch(key, stored: rows[row].speed, recorded: kept)) }
                row += 1
            } else if deadLettered(kept.partition, kept.offset) {
                // Valid now but refused when it was written (a time then too far ahead): the writer's call.
                report.deadLettered += 1
            } else if let prunedBefore = history.prunedBefore, key.timestamp < prunedBefore {
                report.recordsPruned += 1
                report.prunedBefore = prunedBefore
            } else if written(kept.partition, kept.offset) {
                report.findings.append(.missing(key, recorded: kept))
            } else {
                report.notYetWritten += 1
            }
        }
        for record in topicSide.invalid {
            if deadLettered(record.partition, record.offset) {
                report.deadLettered += 1
            } else if written(record.partition, record.offset) {
                report.findings.append(.notDeadLettered(record))
            } else {
                report.notYetWritten += 1
            }
        }
        report.finish()
        return report
    }

    /// Where each dead letter of `topic` came from (partition and offset in `topic`), with its code; empty when there
    /// is no dead-letter topic.
    private func readDeadLetters(
        of topic: String, configuration: KafkaConfiguration, stop: StopRequest, notes: Notes
    ) throws -> [Position: String] {
        let deadLetterTopic = ConnectionSettings.deadLetterTopic(for: topic)
        let consumer = try KafkaConsumer(configuration: configuration, groupID: nil, reportEndOfPartition: true)
        defer { consumer.close() }
        guard let watermarks = try Self.watermarksIfItExists(deadLetterTopic, consumer: consumer) else { return [:] }
        var pending = Set(watermarks.filter { !$0.value.isEmpty }.keys)
        guard !pending.isEmpty else { return [:] }
        try consumer.assign(pending.map { TopicPartitionOffset(topic: deadLetterTopic, partition: $0, offset: watermarks[$0]!.low) })
        var letters: [Position: String] = [:]
        while !pending.isEmpty && !stop.isRequested {
            guard let event = consumer.poll(timeout: .milliseconds(100)) else { continue }
            switch event {
            case .record(let record):
                if record.offset + 1 >= watermarks[record.partition]?.high ?? 0 { pending.remove(record.partition) }
                guard let source = DeadLetterHeader.source(of: record.headers), source.position.topic == topic else { continue }
                letters[Position(partition: source.position.partition, offset: source.position.offset)] = source.code
            case .endOfPartition(_, let partition, _):
                pending.remove(partition)
            case .error(let error):
                if error.isFatal { throw error }
                notes.note("speedo verify: \(error)")
            }
        }
        return letters
    }
}

extension VerifySession {
    /// nil when the topic does not exist (nothing was ever dead-lettered).
    private static func watermarksIfItExists(
        _ topic: String, consumer: KafkaConsumer
    ) throws(KafkaError) -> [Int32: Watermarks]? {
        do {
            return try consumer.watermarks(topic: topic, timeout: .seconds(30))
        } catch {
            if error.isUnknownTopic { return nil }
            throw error
        }
    }
}

/// A valid record of the range, its sensor numbered (`SensorNumbering`).
private struct TopicEntry: Sendable {
    var sensor: Int32
    var microseconds: Int64
    var speed: Double
    var partition: Int32
    var offset: Int64
}

/// A row of the range, its sensor numbered (`SensorNumbering`).
private struct RowEntry: Sendable {
    var sensor: Int32
    var microseconds: Int64
    var speed: Double
}

/// Sensor ids numbered as they are first seen (a small dictionary, few sensors), then renumbered in name order: a
/// million readings then sort by a pair of integers rather than by strings.
private struct SensorNumbering {
    private var numbers: [String: Int32] = [:]
    private var names: [String] = []

    mutating func number(of name: String) -> Int32 {
        if let number = numbers[name] { return number }
        let number = Int32(names.count)
        numbers[name] = number
        names.append(name)
        return number
    }

    /// Renumbers `entries` so that numbers follow name order; returns the names by new number.
    func renumberInNameOrder<Entry>(_ entries: inout [Entry], _ sensor: WritableKeyPath<Entry, Int32>) -> [String] {
        let order = names.indices.sorted { names[$0] < names[$1] }
        var renumbered = [Int32](repeating: 0, count: names.count)
        for (rank, number) in order.enumerated() { renumbered[number] = Int32(rank) }
        for index in entries.indices { entries[index][keyPath: sensor] = renumbered[Int(entries[index][keyPath: sensor])] }
        return order.map { names[$0] }
    }
}

/// A reading's identity in the history: the primary key of `speed_readings`.
struct ReadingKey: Hashable, Sendable, Comparable {
    var sensorID: String
    var timestamp: Timestamp

    static func < (lhs: ReadingKey, rhs: ReadingKey) -> Bool {
        (lhs.sensorID, lhs.timestamp.microseconds) < (rhs.sensorID, rhs.timestamp.microseconds)
    }
}

/// A valid record of the range: its speed and where it is.
struct RecordedReading: Hashable, Sendable {
    var speed: Double
    var partition: Int32
    var offset: Int64
}

/// Two records of one sensor and time with different speeds: the history keeps the first, the other is a dead letter.
struct Conflict: Hashable, Sendable {
    var key: ReadingKey
    var kept: RecordedReading
    var other: RecordedReading
}

/// A record of the range that is not a valid reading.
package struct InvalidRecord: Hashable, Sendable {
    package var partition: Int32
    package var offset: Int64
    package var rejection: RecordRejection
}

private struct Position: Hashable, Sendable {
    var partition: Int32
    var offset: Int64
}
