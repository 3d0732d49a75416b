package import SpeedoCore

// The contract of records on the topics (DESIGN.md, "The event contract"), as every reader applies it: what a record
// of the readings topic or of speed-latest must be, and what becomes of one that is not. Writing records is
// `ReadingPublisher`'s; sending dead letters is `DeadLetterSender`'s.

/// A record that failed validation, on its way to the dead-letter topic.
package struct DeadLetter: Sendable {
    package var record: ConsumedRecord
    /// Machine-readable (`speedo-error-code`): the rejection's code, or `key-mismatch`, or `conflict`.
    package var code: String
    /// For people (`speedo-error`): the field, the rule and the value.
    package var reason: String

    package init(record: ConsumedRecord, code: String, reason: String) {
        (self.record, self.code, self.reason) = (record, code, reason)
    }
}

/// The headers a dead letter carries after the original record's own: why it was refused and where it came from.
package enum DeadLetterHeader {
    package static let reason = "speedo-error"
    package static let code = "speedo-error-code"
    package static let sourceTopic = "speedo-source-topic"
    package static let sourcePartition = "speedo-source-partition"
    package static let sourceOffset = "speedo-source-offset"

    package static func headers(for letter: DeadLetter) -> [KafkaHeader] {
        let record = letter.record
        return [
            (reason, letter.reason), (code, letter.code), (sourceTopic, record.topic),
            (sourcePartition, String(record.partition)), (sourceOffset, String(record.offset)),
        ].map { KafkaHeader(name: $0.0, value: Array($0.1.utf8)) }
    }

    /// Where a dead letter was read, and its code; nil for a record without these headers (not sent by speedo). The
    /// last of each header counts: a dead letter re-sent keeps the earlier ones among the original's.
    package static func source(of headers: [KafkaHeader]) -> (position: TopicPartitionOffset, code: String)? {
        func last(_ name: String) -> String? {
            headers.last { $0.name == name }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        guard let topic = last(sourceTopic), let partition = last(sourcePartition).flatMap({ Int32($0) }),
            let offset = last(sourceOffset).flatMap({ Int64($0) })
        else { return nil }
        return (TopicPartitionOffset(topic: topic, partition: partition, offset: offset), last(code) ?? "")
    }
}

/// What a consumed record turned out to be: the same rules for every reader.
package enum RecordVerdict<Value> {
    case valid(Value)
    case invalid(DeadLetter)
}

/// Why a record of the readings topic is not a valid reading: what its dead letter says.
package struct RecordRejection: Sendable, Hashable, Error {
    /// Machine-readable (`speedo-error-code`).
    package var code: String
    /// For people (`speedo-error`): the field, the rule and the value.
    package var reason: String
}

/// The rules for a record of the readings topic, on its parts: its value must be a valid reading, and its key (when it
/// has one) the reading's sensor id.
package func readingVerdict(
    value: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer?, timestampMs: Int64?, now: Timestamp
) -> Result<Reading, RecordRejection> {
    // A reading without `ts` (from another producer) takes its record's Kafka timestamp, never the reader's clock:
    // read again (a replay, a second writer after a rebalance) it then has the same key.
    switch ReadingDecoder.decode(value: value, now: now, missingTime: .recorded(kafkaTimestampMs: timestampMs)) {
    case .failure(let rejection):
        return .failure(RecordRejection(code: rejection.code.rawValue, reason: rejection.description))
    case .success(let reading):
        // Records are keyed by sensor so that one sensor stays in one partition, in order (and, in speed-latest, so
        // that compaction keeps one state per sensor); a record keyed otherwise was not written by a producer that
        // follows the contract. No key at all is tolerated.
        if let key, !key.elementsEqual(reading.sensorID.utf8) {
            return .failure(keyMismatch(sensorID: reading.sensorID, key: Array(key)))
        }
        return .success(reading)
    }
}

private func keyMismatch(sensorID: String, key: [UInt8]) -> RecordRejection {
    RecordRejection(
        code: "key-mismatch",
        reason: "key: must equal sensor_id \(EscapedText.quoted(sensorID)) (got \(EscapedText.quoted(bytes: key)))")
}

extension RecordView {
    /// `readingVerdict` of this record, read in place.
    package func verdict(now: Timestamp) -> Result<Reading, RecordRejection> {
        readingVerdict(value: value ?? UnsafeRawBufferPointer(start: nil, count: 0), key: key, timestampMs: timestampMs, now: now)
    }
}

extension ConsumedRecord {
    /// A record of the readings topic, by `readingVerdict`.
    package func verdict(now: Timestamp) -> RecordVerdict<Reading> {
        let outcome = (value ?? []).withUnsafeBytes { value in
            guard let key else { return readingVerdict(value: value, key: nil, timestampMs: timestampMs, now: now) }
            return key.withUnsafeBytes { readingVerdict(value: value, key: $0, timestampMs: timestampMs, now: now) }
        }
        switch outcome {
        case .failure(let rejection): return .invalid(DeadLetter(record: self, code: rejection.code, reason: rejection.reason))
        case .success(let reading): return .valid(reading)
        }
    }

    /// A record of speed-latest: its value must be a `LatestState`, and its key (when it has one) the state's
    /// sensor id. nil for a tombstone (no value): the sensor's state was deleted.
    package func latestStateVerdict(now: Timestamp) -> RecordVerdict<LatestState>? {
        guard let value else { return nil }
        switch LatestState.decode(value, now: now) {
        case .failure(let rejection):
            return .invalid(DeadLetter(record: self, code: rejection.code.rawValue, reason: rejection.description))
        case .success(let state):
            if let key, !key.elementsEqual(state.reading.sensorID.utf8) {
                let rejection = keyMismatch(sensorID: state.reading.sensorID, key: key)
                return .invalid(DeadLetter(record: self, code: rejection.code, reason: rejection.reason))
            }
            return .valid(state)
        }
    }

    /// `topic[partition]@offset`, for notes about this record.
    package var position: String { "\(topic)[\(partition)]@\(offset)" }
}
