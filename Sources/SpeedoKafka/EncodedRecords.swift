package import SpeedoCore

/// Readings encoded as records (key = sensor id, value = `CanonicalJSON`, timestamp = the reading's time), with each
/// one's delivery tag and, once `ReadingPublisher.assignPartitions` has ordered them, its partition. One buffer holds
/// every key and value, written once as the readings are decoded; ordering moves only the small per-record entries.
/// `KafkaProducer` then queues thousands of records without allocating or calling back into Swift between them.
package struct EncodedRecords: Sendable {
    struct Record {
        var start: Int
        var keyLength, valueLength: Int32
        /// `partitionerChooses` until a partition is assigned.
        var partition: Int32
        var timestampMs: Int64
        var tag: UInt64
    }

    /// librdkafka's `RD_KAFKA_PARTITION_UA` (a macro with a cast, which Swift does not import).
    static let partitionerChooses: Int32 = -1

    private(set) var bytes: [UInt8] = []
    private(set) var records: [Record] = []

    package init(reservingCapacity count: Int = 0) {
        records.reserveCapacity(count)
        bytes.reserveCapacity(count * 96)
    }

    /// Empty, keeping the capacity, to be filled again.
    package mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        records.removeAll(keepingCapacity: true)
    }

    package var count: Int { records.count }
    package var isEmpty: Bool { records.isEmpty }

    package func tag(at index: Int) -> UInt64 { records[index].tag }

    /// The tags of the records from `index` on: those not queued when queuing stopped there.
    package func tags(from index: Int) -> some Sequence<UInt64> { records[index...].lazy.map(\.tag) }

    /// `canonicalValue`: the reading's `CanonicalJSON` form as it was read (`ReadingDecoder.lineIsCanonical`), copied
    /// instead of written again, which is most of what encoding costs when the input is what speedo writes.
    package mutating func append(_ reading: Reading, canonicalValue: UnsafeRawBufferPointer?, tag: UInt64) {
        precondition(tag & ReadingPublisher.batchTagFlag == 0, "streaming tags must leave ReadingPublisher.batchTagFlag clear")
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
            partition: Self.partitionerChooses, timestampMs: reading.timestamp.milliseconds, tag: tag))
    }

    /// Gives every record the partition `partitioner` picks for its key and orders them by partition, input order kept
    /// within each (so every sensor's readings stay in order): a counting sort, one pass to count, one to place.
    mutating func assignPartitions(_ partitioner: KeyPartitioner) {
        bytes.withUnsafeBytes { bytes in
            for index in records.indices {
                let record = records[index]
                let key = UnsafeRawBufferPointer(rebasing: bytes[record.start..<(record.start + Int(record.keyLength))])
                records[index].partition = partitioner.partition(ofKey: key)
            }
        }
        var next = [Int](repeating: 0, count: Int(partitioner.partitionCount) + 1)
        for record in records { next[Int(record.partition) + 1] += 1 }
        for partition in next.indices.dropFirst() { next[partition] += next[partition - 1] }
        var ordered = records
        for record in records {
            ordered[next[Int(record.partition)]] = record
            next[Int(record.partition)] += 1
        }
        records = ordered
    }
}
