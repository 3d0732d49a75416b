package import SpeedoCore
import SpeedoRuntime
package import SpeedoStore


/// `--to postgres`: each batch stored by `HistoryWriter` without any offsets (`HistoryBatch.advance` is never
/// called), so a replay never moves where a `consume postgres` group resumes.
package final class PostgresReplaySink: ReadingSink {
    private let writer: HistoryWriter
    package private(set) var stored = HistoryWriteResult(rows: 0, inserted: 0)

    package init(writer: HistoryWriter) {
        self.writer = writer
    }

    package func write(_ readings: [Reading]) throws -> SinkState {
        var batch = HistoryBatch()
        for reading in readings { batch.append(reading) }
        let result = try writer.write(batch)
        stored.rows += result.rows
        stored.inserted += result.inserted
        return .open
    }

    package func finish() throws {
        writer.close()
    }
}

/// `--to topic:NAME`: `simulate`'s Kafka sink, plus the exit code when the broker did not confirm everything.
package struct TopicReplaySink: ReadingSink {
    package var base: KafkaReadingSink

    package init(
        base: KafkaReadingSink
    ) {
        self.base = base
    }

    package mutating func write(_ readings: [Reading]) throws -> SinkState {
        try base.write(readings)
    }

    package func finish() throws {
        try base.finish()
        let failed = base.tally.failedCount
        if failed > 0 {
            throw CommandFailure(.notDelivered, "\(failed) replayed readings were not confirmed by \(base.publisher.topic)")
        }
    }
}
