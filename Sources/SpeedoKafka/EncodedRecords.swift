package import SpeedoCore

/// Readings encoded as records (key = sensor id, value = `CanonicalJSON`, timestamp = the reading's time), in the order
/// they are to be queued, with the partition each goes to and its delivery tag (`ReadingPublisher.encode`). One buffer
/// holds every key and value and is reused block after block, so that `KafkaProducer` can queue thousands of records
/// without allocating or calling back into Swift between them.
package struct EncodedRecords: Sendable {
    struct Record {
        var start: Int
        var keyLength, valueLength: Int32
        /// `partitionerChooses`, or the partition `ReadingPublisher.partitionPlan` chose.
        var partition: Int32
        var timestampMs: Int64
        var tag: UInt64
    }

    /// librdkafka's `RD_KAFKA_PARTITION_UA` (a macro with a cast, which Swift does not import).
    static let partitionerChooses: Int32 = -1

    private(set) var bytes: [UInt8] = []
    private(set) var records: [Record] = []

    package init() {}

    package var count: Int { records.count }
    package var isEmpty: Bool { records.isEmpty }

    package func tag(at index: Int) -> UInt64 { records[index].tag }

    /// The tags of the records from `index` on: those not queued when queuing stopped there.
    package func tags(from index: Int) -> some Sequence<UInt64> { records[index...].lazy.map(\.tag) }

    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
    }

    /// `canonicalValue`: the reading's `CanonicalJSON` form as it was read, copied instead of written again.
    mutating func append(_ reading: Reading, canonicalValue: ArraySlice<UInt8>?, partition: Int32?, tag: UInt64) {
        let start = bytes.count
        var sensorID = reading.sensorID
        sensorID.withUTF8 { bytes.append(contentsOf: $0) }
        let keyLength = bytes.count - start
        if let canonicalValue {
            bytes.append(contentsOf: canonicalValue)
        } else {
            CanonicalJSON.append(reading, to: &bytes)
        }
        records.append(Record(
            start: start, keyLength: Int32(keyLength), valueLength: Int32(bytes.count - start - keyLength),
            partition: partition ?? Self.partitionerChooses, timestampMs: reading.timestamp.milliseconds, tag: tag))
    }
}

/// The record values of a block's readings whose input lines were already in `CanonicalJSON`'s form
/// (`ReadingDecoder.lineIsCanonical`), in the readings' order: encoding copies them instead of writing them again,
/// which is most of what encoding costs when the input is what speedo writes.
package struct CanonicalValues: Sendable {
    private var bytes: [UInt8] = []
    /// Where each reading's value ends in `bytes`; a reading whose value starts where it ends has none.
    private var ends: [Int32] = []

    package init() {}

    package mutating func append(_ value: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: value)
        ends.append(Int32(bytes.count))
    }

    /// The next reading's line was not canonical: its value is encoded.
    package mutating func appendNone() {
        ends.append(Int32(bytes.count))
    }

    package mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    func value(at index: Int) -> ArraySlice<UInt8>? {
        guard index < ends.count else { return nil }
        let start = index == 0 ? 0 : Int(ends[index - 1])
        let end = Int(ends[index])
        return start == end ? nil : bytes[start..<end]
    }
}
