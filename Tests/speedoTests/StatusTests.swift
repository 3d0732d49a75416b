import Foundation
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `speedo status` against a running dev stack holding data written by independent clients (kcat, psql).
@Suite(.programTurns) struct StatusTests {
    @Test func reportsWatermarksLagAndReadingsPerSensor() async throws {
        let state = try TemporaryDirectory()
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path])
        try await speedo.takingTheDevStackDownAfterwards {
            let up = try await speedo.run(["dev", "up"])
            try #require(up.status == 0, "dev up failed: \(up.stderr)")
            let env = try await speedo.run(["dev", "env"])
            let brokers = try #require(value(of: "SPEEDO_BROKERS", in: env.stdout))
            let databaseURL = try #require(value(of: "SPEEDO_DATABASE_URL", in: env.stdout))

            let produced = try await runProgram([
                "bash", "-c", "printf 'a\\nb\\nc\\n' | kcat -P -b \"$1\" -t speed-events -p 2", "_", brokers,
            ])
            try #require(produced.status == 0, "kcat -P failed: \(produced.stderr)")
            let inserted = try await runProgram([
                "psql", "-v", "ON_ERROR_STOP=1", "-q", databaseURL, "-c", """
                select speedo_ensure_daily_partition('2024-05-01');
                insert into speed_readings values
                  ('sensor-7', '2024-05-01T10:00:00Z', 40), ('sensor-7', '2024-05-01T10:00:01Z', 41),
                  ('sensor-7', '2024-05-01T10:00:02Z', 42), ('sensor-8', '2024-05-01T11:00:00Z', 90);
                insert into speedo_consumer_offsets (group_id, topic, partition, next_offset)
                  values ('speedo-history', 'speed-events', 2, 1);
                """,
            ])
            try #require(inserted.status == 0, "psql failed: \(inserted.stderr)")

            let status = try await speedo.run(["status", "--top", "1"])
            #expect(status.status == 0, "status failed: \(status.stderr)")
            let lines = status.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
            #expect(lines.contains("speed-events 2 1 0 3 3"), "partition 2 should hold offsets 0..<3:\n\(status.stdout)")
            #expect(lines.contains("speedo-history speed-events 2 1 3 2 PostgreSQL"), "lag of 2 expected:\n\(status.stdout)")
            #expect(lines.contains { $0.contains("schema v\(SchemaMigrations.knownVersion), 4 readings from 2 sensors in 1 daily partition, the oldest of 2024-05-01T10:00:00Z") }, "\(status.stdout)")
            // The rows came in through psql, not the writer: the rollups exist but hold nothing.
            #expect(lines.contains("rollups: speed_rollups_1m 0 buckets, speed_rollups_1h 0 buckets"), "\(status.stdout)")
            #expect(lines.contains("sensor-7 3 2024-05-01T10:00:00Z 2024-05-01T10:00:02Z"), "\(status.stdout)")
            #expect(!status.stdout.contains("sensor-8"), "--top 1 lists only the busiest sensor")
        }
    }

    private func value(of name: String, in assignments: String) -> String? {
        for line in assignments.split(separator: "\n") where line.hasPrefix(name + "=") {
            return String(line.dropFirst(name.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        return nil
    }
}
