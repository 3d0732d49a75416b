/// One step of the schema; `sql` runs inside the transaction that records it.
package struct SchemaMigration: Sendable {
    package var version: Int
    package var description: String
    package var sql: String
}

/// What `SchemaMigrations.apply` did.
package struct MigrationReport: Sendable, Equatable {
    /// Schema version before (0: empty database).
    package var previousVersion: Int
    package var currentVersion: Int
    /// Versions this call applied, in order (empty when the schema was already current).
    package var applied: [Int]

    package init(previousVersion: Int, currentVersion: Int, applied: [Int]) {
        (self.previousVersion, self.currentVersion, self.applied) = (previousVersion, currentVersion, applied)
    }
}

/// speedo's schema, versioned and applied by speedo itself.
///
/// Each migration runs in its own transaction together with the row that records it, so a crash
/// leaves the schema at a known version. Every transaction first takes a transaction-level
/// advisory lock, so processes starting together apply each migration once and in order, and it
/// still works behind a transaction-pooling proxy (no session state is kept).
package enum SchemaMigrations {
    /// Arbitrary constant shared by every speedo: the advisory lock key for migrations.
    static let lockKey = 0x5350_4545_444F_0001 // "SPEEDO" + 1

    package static let all: [SchemaMigration] = [
        SchemaMigration(version: 1, description: "speed_readings (daily range partitions) and consumer offsets",
                        sql: SpeedReadingsSchema.version1),
        SchemaMigration(version: 2, description: "speed_readings primary key covers speed (index-only history reads)",
                        sql: SpeedReadingsSchema.version2),
        SchemaMigration(version: 3, description: "gaps and conflicts: what the history could not hold, recorded",
                        sql: SpeedReadingsSchema.version3),
        SchemaMigration(version: 4, description: "per-sensor rollups of a minute and an hour (with the tdigest extension)",
                        sql: HistoryRollups.migration),
        SchemaMigration(version: 5, description: "where the rows start since the last prune",
                        sql: HistoryRetention.migration),
    ]

    package static var knownVersion: Int { all.map(\.version).max() ?? 0 }

    /// Brings the schema up to date. Blocks (libpq). Throws `PostgresError.schemaTooNew` when the
    /// database is ahead of `migrations`.
    @discardableResult
    package static func apply(
        on connection: PostgresConnection, migrations: [SchemaMigration] = all
    ) throws -> MigrationReport {
        let ordered = migrations.sorted { $0.version < $1.version }
        let known = ordered.last?.version ?? 0
        var previous: Int?
        var latest = 0
        var applied: [Int] = []
        while true {
            let step: Int? = try connection.transaction {
                let current = try lockAndReadVersion(connection)
                if previous == nil { previous = current }
                latest = current
                if current > known {
                    throw PostgresError.schemaTooNew(databaseVersion: current, knownVersion: known)
                }
                guard let next = ordered.first(where: { $0.version > current }) else { return nil }
                try connection.execute(next.sql)
                try connection.query(
                    "INSERT INTO speedo_schema_migrations (version, description, applied_at) VALUES ($1, $2, now())",
                    [String(next.version), next.description])
                return next.version
            }
            guard let step else { break }
            applied.append(step)
        }
        return MigrationReport(previousVersion: previous ?? 0, currentVersion: latest, applied: applied)
    }

    /// The schema version recorded in the database (0 when speedo never ran there). Blocks.
    package static func currentVersion(on connection: PostgresConnection) throws(PostgresError) -> Int {
        let rows = try connection.query(
            "SELECT CASE WHEN to_regclass('speedo_schema_migrations') IS NULL THEN 0 ELSE -1 END AS missing")
        if try rows.first?.int("missing") == 0 { return 0 }
        return try connection.query("SELECT coalesce(max(version), 0) AS version FROM speedo_schema_migrations")
            .first?.int("version") ?? 0
    }

    private static func lockAndReadVersion(_ connection: PostgresConnection) throws(PostgresError) -> Int {
        try connection.query("SELECT pg_advisory_xact_lock($1)", [String(lockKey)])
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS speedo_schema_migrations (
                version int PRIMARY KEY,
                description text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        return try currentVersion(on: connection)
    }
}
