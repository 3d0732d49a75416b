import Foundation
import SpeedoStore
import Testing

/// `speedo db prune` end to end: the real binary against a private PostgreSQL.
@Suite(.programTurns) struct DbPruneTests {
    /// Ten daily partitions, today and the nine days before, the day `n` days ago holding `10 - n` readings. With
    /// --older-than 3d the cutoff falls inside the day 3 days ago, so the days 9 … 4 days ago (6 partitions,
    /// 1 + … + 6 = 21 readings) end before it and go; the day of the cutoff and the 3 after it (34 readings) stay.
    @Test func dropsOldPartitionsAndListsThem() async throws {
        let stack = try await HistoryStack()
        let today = Int(Date().timeIntervalSince1970) / 86_400
        _ = try await stack.query("""
            SELECT speedo_ensure_daily_partition(day::date)
            FROM generate_series(\(today) - 9, \(today)) AS days, LATERAL (SELECT date '1970-01-01' + days AS day) AS d
            """)
        _ = try await stack.query("""
            INSERT INTO speed_readings (sensor_id, ts, speed)
            SELECT 's-' || reading, to_timestamp((\(today) - ago) * 86400 + reading), ago
            FROM generate_series(0, 9) AS ago, generate_series(1, 10 - ago) AS reading
            """)
        let database = ["-d", stack.databaseURL]
        let dayName = { (ago: Int) in
            let date = Date(timeIntervalSince1970: Double((today - ago) * 86_400))
            return SpeedReadingsSchema.partitionName(for: date)
        }
        let expected = (4...9).reversed().map(dayName)

        let dryRun = try await stack.speedo.run(["db", "prune", "--older-than", "3d", "--dry-run"] + database)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        let listed = dryRun.stdout.split(separator: "\n")
        #expect(listed.map { $0.split(separator: " ")[2] } == expected.map { Substring($0) }, "\(dryRun.stdout)")
        #expect(listed.allSatisfy { $0.hasPrefix("would drop ") })
        #expect(listed.first?.hasSuffix("  1 rows") == true && listed.last?.hasSuffix("  6 rows") == true)
        #expect(dryRun.stderr.contains("would drop 6 partitions (21 rows)"), "\(dryRun.stderr)")
        #expect(try await stack.stored().rows == 55)

        let prune = try await stack.speedo.run(["db", "prune", "--older-than", "3d"] + database)
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.stdout == dryRun.stdout.replacingOccurrences(of: "would drop ", with: "dropped "))
        #expect(prune.stderr.contains("dropped 6 partitions (21 rows)"), "\(prune.stderr)")
        let kept = try await stack.query("""
            SELECT tableoid::regclass::text AS name, count(*) AS rows, sum(speed)::bigint AS total
            FROM speed_readings GROUP BY 1 ORDER BY 1
            """).map { "\($0["name"]!)=\($0["rows"]!)/\($0["total"]!)" }
        // The day n days ago holds 10 - n readings of speed n.
        #expect(kept == ["\(dayName(3))=7/21", "\(dayName(2))=8/16", "\(dayName(1))=9/9", "\(dayName(0))=10/0"])

        let again = try await stack.speedo.run(["db", "prune", "--older-than", "3d"] + database)
        #expect(again.status == 0 && again.stdout.isEmpty, "\(again.stdout)")
        #expect(again.stderr.contains("nothing to drop"), "\(again.stderr)")

        // The rows came in through SQL: the rollups are empty until rebuilt from them; prune keeps them unless told.
        let rebuild = try await stack.speedo.run(["db", "rollup", "--rebuild", "--since", "30d"] + database)
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        let rollups = try await stack.speedo.run(["db", "rollup"] + database)
        #expect(rollups.stdout.hasPrefix("speed_rollups_1m  34 buckets, 34 readings, "), "\(rollups.stdout)")
        #expect(rollups.stdout.contains("speed_rollups_1h  34 buckets, 34 readings, "), "\(rollups.stdout)")
        let withRollups = try await stack.speedo.run(
            ["db", "prune", "--older-than", "1d", "--with-rollups", "--dry-run"] + database)
        #expect(withRollups.stderr.contains("would drop 2 partitions (15 rows)"), "\(withRollups.stderr)")
        #expect(withRollups.stderr.contains("would drop 30 rollup buckets of those days"), "\(withRollups.stderr)")
        let keeping = try await stack.speedo.run(["db", "prune", "--older-than", "1d"] + database)
        #expect(keeping.stderr.contains("dropped 2 partitions (15 rows)") && keeping.stderr.contains("rollups kept"),
                "\(keeping.stderr)")
        #expect(try await stack.rollups().map(\.buckets) == [34, 34])
        let dropping = try await stack.speedo.run(["db", "prune", "--older-than", "1d", "--with-rollups"] + database)
        #expect(dropping.stderr.contains("dropped 30 rollup buckets of those days"), "\(dropping.stderr)")
        #expect(try await stack.rollups().map(\.buckets) == [19, 19])
        #expect(try await SpeedoBinary().run(["db", "rollup", "--rebuild"] + database).status == 64)
    }

    @Test(arguments: ["0s", "-1d", "soon", ""])
    func rejectsAnAgeThatIsNotPositive(age: String) async throws {
        let run = try await SpeedoBinary().run(["db", "prune", "--older-than", age, "-d", "host=/nonexistent"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(run.stderr.contains("--older-than"), "\(run.stderr)")
    }
}
