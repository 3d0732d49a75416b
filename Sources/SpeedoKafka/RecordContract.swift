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

/// What a consumed record turned out to be: the same rules for every reader.
package enum RecordVerdict<Value> {
    case valid(Value)
    case invalid(DeadLetter)
}

extension ConsumedRecord {
    /// A record of the readings topic: its value must be a valid reading, and its key (when it has one) the
    /// reading's sensor id.
    package func verdict(now: Timestamp) -> RecordVerdict<Reading> {
        // A reading without `ts` (from another producer) takes its record's Kafka timestamp, never the reader's
        // clock: read again (a replay, a second writer after a rebalance) it then has the same key.
        switch ReadingDecoder.decode(value: value ?? [], now: now, missingTime: .recorded(kafkaTimestampMs: timestampMs)) {
        case .failure(let rejection):
            return .invalid(DeadLetter(record: self, code: rejection.code.rawValue, reason: rejection.description))
        case .success(let reading):
            if let letter = keyMismatch(sensorID: reading.sensorID) { return .invalid(letter) }
            return .valid(reading)
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
            if let letter = keyMismatch(sensorID: state.reading.sensorID) { return .invalid(letter) }
            return .valid(state)
        }
    }

    /// Records are keyed by sensor so that one sensor stays in one partition, in order (and, in speed-latest, so
    /// that compaction keeps one state per sensor); a record keyed otherwise was not written by a producer that
    /// follows the contract. No key at all is tolerated.
    private func keyMismatch(sensorID: String) -> DeadLetter? {
        guard let key, !key.elementsEqual(sensorID.utf8) else { return nil }
        return DeadLetter(
            record: self, code: "key-mismatch",
            reason: "key: must equal sensor_id \(EscapedText.quoted(sensorID)) (got \(EscapedText.quoted(bytes: key)))")
    }

    /// `topic[partition]@offset`, for notes about this record.
    package var position: String { "\(topic)[\(partition)]@\(offset)" }
}
