package import SpeedoCore

/// A partition of `speed_readings` that `HistoryRetention.prune` dropped (or, in a dry run, would drop).
package struct DroppedPartition: Sendable, Equatable {
    package var name: String
    /// The range the partition covered, [lower, upper); `lower` is nil for a range from MINVALUE.
    package var lower: Timestamp?
    package var upper: Timestamp
    /// Rows it held when it was dropped.
    package var rows: Int
}

/// What one prune did (or, in a dry run, would do).
package struct PruneOutcome: Sendable, Equatable {
    package var partitions: [DroppedPartition] = []
    /// Rollup buckets deleted (`withRollups`), all widths together.
    package var rollupBuckets = 0

    package init(partitions: [DroppedPartition] = [], rollupBuckets: Int = 0) {
        (self.partitions, self.rollupBuckets) = (partitions, rollupBuckets)
    }
}

/// Retention of the history: old readings go by whole partitions (`DROP TABLE` of a daily partition is instant and
/// leaves no dead rows to vacuum, where `DELETE` would rewrite the table).
///
/// Only a partition whose whole range ends at or before the cutoff is dropped, so no row newer than the cutoff is
/// ever lost; a DEFAULT partition, or one open-ended to MAXVALUE, has no such end and is always kept.
///
/// Concurrent writers: the prune holds the advisory lock that serializes partition creation
/// (`speedo_ensure_daily_partition`), so no partition appears between listing and dropping, and it locks
/// `speed_readings` itself (as DROP would anyway) before counting, so in-flight batches finish first and later ones
/// wait the few milliseconds the drops take. Both locks are taken in the writer's order (advisory lock, then the
/// table), so the two cannot deadlock. A writer that later stores an old reading into a day just dropped gets that
/// day's partition again (`HistoryWriter` re-creates it).
package enum HistoryRetention {
    /// How long a prune waits for the table lock (behind a long query, say) before giving up, rather than holding
    /// every writer up in the lock queue meanwhile.
    static let lockTimeout = "5s"

    /// Drops every partition of `speed_readings` whose range ends at or before `now - age`, in one transaction, and
    /// records where the rows now start (`speedo_retention`, for `verify` and `history`); the rollups stay, unless
    /// `withRollups`, which deletes their buckets of the same whole days. With `dryRun`, only lists and counts (and
    /// takes no lock). Partitions come oldest first, with their row counts; nothing when speedo's schema is not
    /// there. `age` must be positive. Blocks.
    package static func prune(
        on connection: PostgresConnection, olderThan age: TimeSpan, now: Timestamp, dryRun: Bool,
        withRollups: Bool = false
    ) throws -> PruneOutcome {
        precondition(age > TimeSpan(microseconds: 0), "a retention age must be positive")
        let cutoff = now - age
        return try connection.transaction { () throws(PostgresError) -> PruneOutcome in
            let exists = try connection.query("SELECT to_regclass('speed_readings') IS NOT NULL AS present")
            guard try exists.first?.bool("present") == true else { return PruneOutcome() }
            if !dryRun {
                try connection.execute("SET LOCAL lock_timeout = '\(lockTimeout)'")
                try connection.query("SELECT pg_advisory_xact_lock($1)", [String(SpeedReadingsSchema.partitionLockKey)])
            }
            var outcome = PruneOutcome()
            if withRollups, try connection.hasRollups() {
                // Whole days, as for the rows: the buckets before the cutoff's UTC midnight.
                let day = Timestamp(microseconds: cutoff.microseconds - cutoff.microseconds % 86_400_000_000)
                for rollup in HistoryRollups.widths {
                    outcome.rollupBuckets += dryRun
                        ? try connection.query(
                            "SELECT count(*) AS buckets FROM \(rollup.table) WHERE bucket < $1::timestamptz",
                            [day.rfc3339]).first?.int("buckets") ?? 0
                        : try connection.execute("DELETE FROM \(rollup.table) WHERE bucket < '\(day.rfc3339)'")
                }
            }
            let expired = try expiredPartitions(on: connection, cutoff: cutoff)
            guard !expired.isEmpty else { return outcome }
            if !dryRun {
                try connection.execute("LOCK TABLE ONLY speed_readings IN ACCESS EXCLUSIVE MODE")
            }
            for var partition in expired {
                let table = quoteIdentifier(partition.name)
                partition.rows = try connection.query("SELECT count(*) AS rows FROM \(table)").first?.int("rows") ?? 0
                if !dryRun { try connection.execute("DROP TABLE \(table)") }
                outcome.partitions.append(partition)
            }
            if !dryRun, let prunedBefore = expired.map(\.upper).max() {
                try connection.query(
                    """
                    INSERT INTO speedo_retention (rows_pruned_before) VALUES ($1::timestamptz)
                    ON CONFLICT (only_row) DO UPDATE
                    SET rows_pruned_before = greatest(speedo_retention.rows_pruned_before, excluded.rows_pruned_before)
                    """,
                    [prunedBefore.rfc3339])
            }
            return outcome
        }
    }

    /// Schema version 5: where the rows start since the last prune (none before a first prune).
    static let migration = """
        CREATE TABLE speedo_retention (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            rows_pruned_before timestamptz NOT NULL
        );
        """

    /// The partitions whose upper bound is at or before `cutoff` (rows not yet counted). The bounds are read from
    /// the catalog rather than from the names, so partitions made by other tools count too; the bound's text and
    /// the cast back to timestamptz use the same session settings, so the round trip is exact.
    private static func expiredPartitions(
        on connection: PostgresConnection, cutoff: Timestamp
    ) throws(PostgresError) -> [DroppedPartition] {
        let rows = try connection.query(
            """
            SELECT name,
                   (extract(epoch FROM lower_bound) * 1000000)::bigint AS lower_micros,
                   (extract(epoch FROM upper_bound) * 1000000)::bigint AS upper_micros
            FROM (
                SELECT child.relname AS name,
                       substring(pg_get_expr(child.relpartbound, child.oid) FROM $$FROM \\('([^']*)'\\)$$)::timestamptz
                           AS lower_bound,
                       substring(pg_get_expr(child.relpartbound, child.oid) FROM $$TO \\('([^']*)'\\)$$)::timestamptz
                           AS upper_bound
                FROM pg_inherits
                JOIN pg_class child ON child.oid = pg_inherits.inhrelid
                WHERE pg_inherits.inhparent = 'speed_readings'::regclass
            ) AS bounds
            WHERE upper_bound <= $1::timestamptz
            ORDER BY upper_bound, name
            """,
            [cutoff.rfc3339])
        return try rows.map { (row) throws(PostgresError) -> DroppedPartition in
            guard let name = row.string("name"), let upper = try row.int("upper_micros") else {
                throw .decodingFailed(column: "upper_micros", value: "NULL", type: "bigint")
            }
            return DroppedPartition(
                name: name, lower: try row.int("lower_micros").map { Timestamp(microseconds: Int64($0)) },
                upper: Timestamp(microseconds: Int64(upper)), rows: 0)
        }
    }
}

extension PostgresConnection {
    /// Where the rows start since `db prune` dropped the older ones; nil when nothing was ever pruned (or the schema
    /// is older than version 5). Blocks.
    package func rowsPrunedBefore() throws(PostgresError) -> Timestamp? {
        guard try query("SELECT to_regclass('speedo_retention') IS NOT NULL AS present").first?.bool("present") == true
        else { return nil }
        return try query("SELECT (extract(epoch FROM rows_pruned_before) * 1000000)::bigint AS us FROM speedo_retention")
            .first?.int("us").map { Timestamp(microseconds: Int64($0)) }
    }
}
