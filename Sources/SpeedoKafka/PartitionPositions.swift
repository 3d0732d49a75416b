/// Where one consumer stands in each partition it reads: the next offset to process, the next offset as last made
/// durable (committed to Kafka, or stored in PostgreSQL for the history), and whether the partition's end was
/// reported since its last record. Kept by `ConsumerLoop`, so that "caught up" means the same for every pump.
package struct PartitionPositions: Sendable {
    package struct Position: Sendable, Hashable {
        /// The next offset to process; nil until a record or the partition's end is seen (or a start is known).
        package var next: Int64?
        /// The next offset as last made durable; nil until known.
        package var committed: Int64?
        package var atEnd = false
        /// The partition's end as last reported.
        package var end: Int64?
    }

    private var positions: [Int32: Position] = [:]

    package var isEmpty: Bool { positions.isEmpty }
    package var count: Int { positions.count }
    package var ids: [Int32] { positions.keys.sorted() }

    package subscript(partition: Int32) -> Position? { positions[partition] }

    /// Starts (or restarts) tracking `partition`.
    package mutating func track(_ partition: Int32, next: Int64? = nil, committed: Int64? = nil) {
        positions[partition] = Position(next: next, committed: committed)
    }

    package mutating func forget(_ partition: Int32) {
        positions[partition] = nil
    }

    /// The record at `offset` was processed.
    package mutating func processed(_ partition: Int32, offset: Int64) {
        positions[partition]?.next = offset + 1
        positions[partition]?.atEnd = false
    }

    /// The partition's end was reported at `offset`: everything before it has been delivered, or no longer exists
    /// (deleted by retention before it was read, and skipped by auto.offset.reset), so the next offset may move past
    /// such a gap. Returns the next offset when it moved; nil when it did not or the partition is not tracked.
    package mutating func reachedEnd(_ partition: Int32, offset: Int64) -> Int64? {
        guard var position = positions[partition] else { return nil }
        position.atEnd = true
        position.end = offset
        let moved = position.next.map { offset > $0 } ?? true
        if moved { position.next = offset }
        positions[partition] = position
        return moved ? offset : nil
    }

    package mutating func committed(_ partition: Int32, offset: Int64) {
        positions[partition]?.committed = offset
    }

    /// Every tracked partition reported its end and nothing newer has been seen since: the end-of-partition events
    /// are as old as the last poll, while librdkafka's fetcher keeps learning the high watermarks meanwhile.
    package func isCaughtUp(_ consumer: KafkaConsumer, topic: String) -> Bool {
        !positions.isEmpty && positions.allSatisfy { id, position in
            position.atEnd && (position.next ?? 0) >= consumer.lastKnownHighWatermark(topic: topic, partition: id) ?? 0
        }
    }
}
