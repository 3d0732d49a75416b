package import SpeedoCore

/// Per-sensor rollups of `speed_readings`, a minute and an hour wide: count, sum, minimum, maximum and a t-digest of the
/// speeds (PostgreSQL's `tdigest` extension, Debian's `postgresql-15-tdigest`), so that `history --bucket` answers a
/// year of hours or a month of minutes without the rows, and after `db prune` has dropped them.
///
/// Exactly once: the writer adds each batch's new rows to the rollups in the transaction that stores the rows and
/// their offsets (`upserts`), from the rows the INSERT reports as inserted, so a row already stored (a replay) is
/// never counted twice and a batch rolled back is not counted at all. A digest merges with another
/// (`tdigest_union`), and so does a count, a sum, a minimum and a maximum: any multiple of a width is exact for those,
/// and the 95th percentile is the t-digest's estimate (its error, measured against `percentile_cont`, is in
/// README.md's `history` section).
///
/// The tables exist only where the extension is installed: without it the migration creates nothing and says so,
/// and history reads raw rows as before.
package enum HistoryRollups {
    /// The widths, each with its table.
    package static let widths: [(table: String, width: String, microseconds: Int64)] = [
        ("speed_rollups_1m", "1 minute", 60_000_000), ("speed_rollups_1h", "1 hour", 3_600_000_000),
    ]

    /// The widest rollup width (microseconds) that `width` is a whole number of; nil for buckets of seconds.
    package static func grid(for width: TimeSpan) -> Int64? {
        widths.map(\.microseconds).filter { width.microseconds % $0 == 0 }.max()
    }

    /// The rollup that answers buckets of `width` over [since, until): the widest whose width divides the bucket and
    /// on whose bucket boundaries both ends fall; nil when none does.
    static func rollup(
        for width: TimeSpan, since: Timestamp, until: Timestamp
    ) -> (table: String, width: String, microseconds: Int64)? {
        widths.last { rollup in
            [width.microseconds, since.microseconds, until.microseconds].allSatisfy { $0 % rollup.microseconds == 0 }
        }
    }

    /// t-digest's compression: about 100 centroids a digest, its usual setting.
    static let compression = 100

    /// Schema version 4: the extension and the rollup tables, filled from the rows already stored.
    static let migration = """
        DO $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'tdigest') THEN
                RAISE NOTICE 'speedo: PostgreSQL has no tdigest extension (Debian: postgresql-15-tdigest): no rollups, history --bucket reads raw rows';
                RETURN;
            END IF;
            BEGIN
                CREATE EXTENSION IF NOT EXISTS tdigest;
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE 'speedo: not allowed to CREATE EXTENSION tdigest (a superuser can): no rollups, history --bucket reads raw rows';
                RETURN;
            END;
        \(widths.map(table).joined(separator: "\n"))
        END
        $$;
        """

    private static func table(_ rollup: (table: String, width: String, microseconds: Int64)) -> String {
        """
            CREATE TABLE \(rollup.table) (
                sensor_id text NOT NULL,
                bucket timestamptz NOT NULL,
                readings bigint NOT NULL,
                speed_sum double precision NOT NULL,
                speed_min double precision NOT NULL,
                speed_max double precision NOT NULL,
                digest tdigest NOT NULL,
                PRIMARY KEY (sensor_id, bucket)
            );
            INSERT INTO \(rollup.table) \(aggregate(width: rollup.width, from: "speed_readings"));
        """
    }

    /// One rollup row per sensor and bucket of `source`'s rows (sensor_id, ts, speed), in time order: rows written
    /// in the order they are read lie together on disk (a month of one sensor's minutes read 70 ms end to end laid
    /// out in time order, 110 ms in the hash aggregate's order: bench/README.md), and writers that upsert the same
    /// buckets lock them in the same order instead of deadlocking.
    private static func aggregate(width: String, from source: String) -> String {
        """
        SELECT sensor_id, date_bin('\(width)', ts, timestamptz 'epoch'), count(*), sum(speed), min(speed), max(speed),
               tdigest(speed, \(compression))
        FROM \(source) GROUP BY 1, 2 ORDER BY 2, 1
        """
    }

    /// Data-modifying CTEs that add the rows of the CTE `source` (sensor_id, ts, speed) to every rollup, merging into
    /// the buckets already there; to follow a `WITH source AS (…)`.
    static func upserts(from source: String) -> String {
        widths.enumerated().map { index, rollup in
            """
            rollup_\(index) AS (
                INSERT INTO \(rollup.table) AS stored (sensor_id, bucket, readings, speed_sum, speed_min, speed_max, digest)
                \(aggregate(width: rollup.width, from: source))
                ON CONFLICT (sensor_id, bucket) DO UPDATE SET
                    readings = stored.readings + excluded.readings, speed_sum = stored.speed_sum + excluded.speed_sum,
                    speed_min = least(stored.speed_min, excluded.speed_min),
                    speed_max = greatest(stored.speed_max, excluded.speed_max),
                    digest = tdigest_union(stored.digest, excluded.digest)
                RETURNING 1)
            """
        }.joined(separator: ",\n")
    }
}

extension HistoryRollups {
    /// What a rebuild did to one rollup.
    package struct Rebuilt: Sendable, Equatable {
        package var table: String
        /// Where it started: `since` rounded down to the rollup's width.
        package var from: Timestamp
        package var removed: Int
        package var written: Int
    }

    /// Recomputes every rollup from the rows, from `since` (rounded down to each width) on, in one transaction:
    /// after a manual fix of rows, or rows written by something else than speedo's writer. Running it again changes
    /// nothing. Where the rollups do not exist yet (the extension was installed after the schema reached version 4),
    /// it makes them, from every row. Throws `PostgresError.noRollups` when it cannot. Blocks.
    package static func rebuild(on connection: PostgresConnection, since: Timestamp) throws -> [Rebuilt] {
        if try !connection.hasRollups() { try connection.transaction { try connection.execute(migration) } }
        guard try connection.hasRollups() else { throw PostgresError.noRollups }
        return try connection.transaction {
            try widths.map { rollup in
                let from = Timestamp(microseconds: since.microseconds - since.microseconds % rollup.microseconds)
                let removed = try connection.execute("DELETE FROM \(rollup.table) WHERE bucket >= '\(from.rfc3339)'")
                let written = try connection.execute("""
                    INSERT INTO \(rollup.table)
                    \(aggregate(width: rollup.width, from: "speed_readings WHERE ts >= '\(from.rfc3339)'::timestamptz"))
                    """)
                return Rebuilt(table: rollup.table, from: from, removed: removed, written: written)
            }
        }
    }
}

extension HistoryRollups {
    /// One rollup's extent.
    package struct Extent: Sendable, Equatable {
        package var table: String
        package var buckets: Int
        package var readings: Int
        package var first: Timestamp?
        package var last: Timestamp?
    }

    /// Each rollup's buckets, readings and first and last bucket; empty when the database keeps none. Blocks.
    package static func extents(on connection: PostgresConnection) throws(PostgresError) -> [Extent] {
        guard try connection.hasRollups() else { return [] }
        return try widths.map { (rollup) throws(PostgresError) -> Extent in
            let row = try connection.query("""
                SELECT count(*) AS buckets, coalesce(sum(readings), 0) AS readings,
                       (extract(epoch FROM min(bucket)) * 1000000)::bigint AS first_us,
                       (extract(epoch FROM max(bucket)) * 1000000)::bigint AS last_us
                FROM \(rollup.table)
                """).first
            return Extent(
                table: rollup.table, buckets: try row?.int("buckets") ?? 0, readings: try row?.int("readings") ?? 0,
                first: try row?.int("first_us").map { Timestamp(microseconds: Int64($0)) },
                last: try row?.int("last_us").map { Timestamp(microseconds: Int64($0)) })
        }
    }
}

extension PostgresConnection {
    /// Whether this database has the rollup tables (the tdigest extension was there when the schema reached
    /// version 4).
    package func hasRollups() throws(PostgresError) -> Bool {
        try query("SELECT to_regclass('\(HistoryRollups.widths[0].table)') IS NOT NULL AS present")
            .first?.bool("present") ?? false
    }
}
