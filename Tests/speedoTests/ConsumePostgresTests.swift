import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoStore
import Testing

/// `speedo consume postgres` end to end: the real binary against the mock Kafka cluster and a private PostgreSQL.
@Suite struct ConsumePostgresTests {
    @Test func storesEveryRecordExactlyOnce() async throws {
        let stack = try await HistoryStack()
        let readings = makeReadings(count: 20_000)
        try stack.produce(readings)

        let run = try stack.speedo.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(run.status == 0, "consume failed: \(run.stderr)")
        #expect(try await stack.stored() == StoredSummary(rows: 20_000, keys: 20_000, speedSum: speedSum(readings)))
        #expect(try await stack.storedOffsets() == (try stack.highWatermarks()))
        #expect(run.stderr.contains("stored 20,000 rows (20,000 new"), "\(run.stderr)")

        // A replay from offset 0 (offsets reset by an operator) stores nothing twice.
        _ = try await stack.query("UPDATE speedo_consumer_offsets SET next_offset = 0")
        let replay = try stack.speedo.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(replay.status == 0, "replay failed: \(replay.stderr)")
        #expect(replay.stderr.contains("stored 20,000 rows (0 new, 20,000 already there)"), "\(replay.stderr)")
        #expect(try await stack.stored().rows == 20_000)
    }
}
