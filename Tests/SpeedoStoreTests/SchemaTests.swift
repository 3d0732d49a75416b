import Foundation
@testable import SpeedoStore
import SpeedoTestSupport
import Testing

extension PostgresStoreTests {
    @Test("migrations apply once, in order, and record their versions")
    func migrationsAreIdempotent() async throws {
        let url = try await makeDatabase(migrated: false)
        let (first, second, recorded, tables) = try await withConnection(url) { connection in
            let first = try SchemaMigrations.apply(on: connection)
            let second = try SchemaMigrations.apply(on: connection)
            let recorded = try connection.query("SELECT version FROM speedo_schema_migrations ORDER BY version")
                .map { try $0.int("version") }
            let tables = try connection.query("""
                SELECT to_regclass('speed_readings') IS NOT NULL AS readings,
                       to_regclass('speedo_consumer_offsets') IS NOT NULL AS offsets,
                       to_regclass('speed_rollups_1m') IS NOT NULL AND to_regclass('speed_rollups_1h') IS NOT NULL AS rollups
                """).first
            return (first, second, recorded,
                    [try tables?.bool("readings"), try tables?.bool("offsets"), try tables?.bool("rollups")])
        }
        #expect(first == MigrationReport(previousVersion: 0, currentVersion: 5, applied: [1, 2, 3, 4, 5]))
        #expect(second == MigrationReport(previousVersion: 5, currentVersion: 5, applied: []))
        #expect(recorded == [1, 2, 3, 4, 5])
        // The tdigest extension is installed here (scripts/install-deps.sh): the rollups exist.
        #expect(tables == [true, true, true])
    }

    @Test("later migrations build on earlier ones, and processes racing apply each exactly once")
    func migrationsSerializeAcrossConnections() async throws {
        let url = try await makeDatabase(migrated: false)
        let extra = SchemaMigration(version: SchemaMigrations.knownVersion + 1, description: "test-only column",
                                    sql: "ALTER TABLE speed_readings ADD COLUMN test_only int")
        let migrations = SchemaMigrations.all + [extra]
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for _ in 0..<4 {
                group.addTask { try await withConnection(url) { try SchemaMigrations.apply(on: $0, migrations: migrations) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reports.flatMap(\.applied).sorted() == Array(1...extra.version))
        #expect(reports.allSatisfy { $0.currentVersion == extra.version })
    }

    @Test("a database with a newer schema than this binary knows is refused")
    func newerSchemaIsRefused() async throws {
        let url = try await makeDatabase(migrated: true)
        let error = try await withConnection(url) { connection in
            try connection.query("INSERT INTO speedo_schema_migrations (version, description) VALUES (99, 'future')")
            return capturedError { try SchemaMigrations.apply(on: connection) }
        }
        let refusal = try #require(error as? PostgresError)
        #expect(refusal == .schemaTooNew(databaseVersion: 99, knownVersion: SchemaMigrations.knownVersion))
        #expect(refusal.code == "postgres.schema-too-new")
        #expect(refusal.description.contains("99"))
    }

    @Test("daily partitions are created once, by UTC day, and readings land in their day's partition")
    func dailyPartitions() async throws {
        let url = try await makeDatabase(migrated: true)
        // 2026-03-01T12:00:00Z through 2026-03-03T01:00:00Z.
        let start = Date(timeIntervalSince1970: 1_772_366_400)
        let end = Date(timeIntervalSince1970: 1_772_499_600)
        let expected = ["speed_readings_20260301", "speed_readings_20260302", "speed_readings_20260303"]
        let (created, again, home) = try await withConnection(url) { connection in
            // A session in another time zone must not shift the days.
            try connection.execute("SET TIME ZONE 'America/New_York'")
            let created = try connection.ensurePartitions(from: start, to: end)
            let again = try connection.ensurePartitions(from: start, to: end)
            try connection.query("""
                INSERT INTO speed_readings VALUES ('s-1', '2026-03-02T23:59:59Z', 50), ('s-1', '2026-03-03T00:00:00Z', 51)
                """)
            let home = try connection.query("SELECT tableoid::regclass::text AS part FROM speed_readings ORDER BY ts")
                .map { $0["part"] }
            return (created, again, home)
        }
        #expect(created == expected)
        #expect(again.isEmpty)
        #expect(home == ["speed_readings_20260302", "speed_readings_20260303"])
        #expect(SpeedReadingsSchema.partitionName(for: end) == "speed_readings_20260303")
    }

    @Test("concurrent partition creation neither fails nor creates twice")
    func concurrentPartitions() async throws {
        let url = try await makeDatabase(migrated: true)
        let start = Date(timeIntervalSince1970: 1_600_000_000)
        let end = start.addingTimeInterval(9 * 86_400)
        let created = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask { try await withConnection(url) { try $0.ensurePartitions(from: start, to: end) } }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(created.count == 10)
        #expect(Set(created).count == 10)
    }

    @Test("version 2 rebuilds the primary key of existing partitions to include speed, keeping rows and ON CONFLICT")
    func primaryKeyIncludesSpeedAfterVersion2() async throws {
        let url = try await makeDatabase(migrated: false)
        let version1 = SchemaMigrations.all.filter { $0.version == 1 }
        let (before, after, afterAgain, rows, conflicts) = try await withConnection(url) { connection in
            try SchemaMigrations.apply(on: connection, migrations: version1)
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: 1_772_366_400),
                                            to: Date(timeIntervalSince1970: 1_772_366_400))
            try connection.query("""
                INSERT INTO speed_readings VALUES ('s-1', '2026-03-01T12:00:00Z', 50), ('s-2', '2026-03-01T12:00:00Z', 51)
                """)
            let before = try Self.primaryKeyColumns(connection)
            let report = try SchemaMigrations.apply(on: connection, migrations: SchemaMigrations.all.filter { $0.version <= 2 })
            #expect(report.applied == [2])
            // A partition created after the migration inherits the new key.
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: 1_772_452_800),
                                            to: Date(timeIntervalSince1970: 1_772_452_800))
            let after = try Self.primaryKeyColumns(connection)
            // Running the step again (an operator rebuilt the key by hand first) changes nothing.
            try connection.execute(SchemaMigrations.all.first { $0.version == 2 }!.sql)
            let afterAgain = try Self.primaryKeyColumns(connection)
            let rows = try connection.query("SELECT sensor_id || '=' || speed AS row FROM speed_readings ORDER BY sensor_id")
                .compactMap { $0["row"] }
            let conflicts = try connection.execute("""
                INSERT INTO speed_readings VALUES ('s-1', '2026-03-01T12:00:00Z', 99)
                ON CONFLICT (sensor_id, ts) DO NOTHING
                """)
            return (before, after, afterAgain, rows, conflicts)
        }
        #expect(before == ["speed_readings_20260301_pkey": "2 of 2", "speed_readings_pkey": "2 of 2"])
        let covering = [
            "speed_readings_20260301_pkey": "2 of 3", "speed_readings_20260302_pkey": "2 of 3",
            "speed_readings_pkey": "2 of 3",
        ]
        #expect(after == covering)
        #expect(afterAgain == covering)
        #expect(rows == ["s-1=50", "s-2=51"])
        #expect(conflicts == 0)
    }

    /// Each primary-key index of speed_readings and its partitions: "key columns of all columns".
    private static func primaryKeyColumns(_ connection: PostgresConnection) throws -> [String: String] {
        let rows = try connection.query("""
            SELECT c.relname AS name, i.indnkeyatts || ' of ' || i.indnatts AS columns
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indisprimary AND i.indrelid IN (
                SELECT 'speed_readings'::regclass UNION ALL SELECT inhrelid FROM pg_inherits
                WHERE inhparent = 'speed_readings'::regclass)
            """)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"]!, $0["columns"]!) })
    }

    @Test("one sensor over one hour is an index-only scan of a single partition")
    func oneSensorOneHourUsesThePrimaryKey() async throws {
        let url = try await makeDatabase(migrated: true)
        let plan = try await withConnection(url) { connection in
            try connection.ensurePartitions(from: Date(timeIntervalSince1970: 1_772_366_400),
                                            to: Date(timeIntervalSince1970: 1_772_366_400 + 3 * 86_400))
            // Without sequential scans, only a usable index yields an index scan.
            try connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
            return try connection.query("""
                EXPLAIN SELECT ts, speed FROM speed_readings
                WHERE sensor_id = 's-1' AND ts >= '2026-03-02T10:00:00Z' AND ts < '2026-03-02T11:00:00Z'
                """).compactMap { $0["QUERY PLAN"] }.joined(separator: "\n")
        }
        #expect(plan.contains("Index Only Scan using speed_readings_20260302_pkey"), "\(plan)")
        #expect(!plan.contains("20260301") && !plan.contains("20260303"), "other days are pruned: \(plan)")
    }
}
