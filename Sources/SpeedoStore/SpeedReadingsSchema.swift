package import Foundation

/// The history tables and their daily partitions.
///
/// Layout choices, so that TimescaleDB or Citus remain possible:
/// - `speed_readings` has no surrogate key, foreign keys or triggers; its primary key
///   `(sensor_id, ts)` leads with the distribution column Citus would use and contains the time
///   column any time partitioning (native or hypertable) requires. The same index (which includes
///   `speed` since version 2) makes "one sensor over one time range" an index-only range scan inside
///   the partitions of that range.
/// - Partitions are plain daily ranges in UTC named `speed_readings_YYYYMMDD`, created by the
///   SQL function `speedo_ensure_daily_partition(date)`, which other tools can call or replace.
/// - There is deliberately no DEFAULT partition: rows parked there would have to be moved (under
///   an exclusive lock) before that day's partition could be created. Instead writers call
///   `ensurePartitions(from:to:)` for the days a batch covers before writing it, so a reading of
///   any day, however old, gets its partition on demand; an insert for a day nobody prepared fails
///   with SQLSTATE 23514 ("no partition of relation found for row") rather than being misfiled.
package enum SpeedReadingsSchema {
    /// Arbitrary constant: the advisory lock key serializing partition creation.
    static let partitionLockKey = 0x5350_4545_444F_0002

    static let version1 = """
        CREATE TABLE speed_readings (
            sensor_id text NOT NULL,
            ts timestamptz NOT NULL,
            speed double precision NOT NULL,
            PRIMARY KEY (sensor_id, ts)
        ) PARTITION BY RANGE (ts);

        CREATE TABLE speedo_consumer_offsets (
            group_id text NOT NULL,
            topic text NOT NULL,
            partition int NOT NULL,
            next_offset bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (group_id, topic, partition)
        );

        -- Returns the partition's name when this call created it, NULL when it already existed.
        -- The unlocked look-up keeps the common case cheap; creators are serialized by an advisory
        -- lock, and a partition committed meanwhile by someone else shows up as duplicate_table.
        CREATE FUNCTION speedo_ensure_daily_partition(day date) RETURNS text
        LANGUAGE plpgsql AS $$
        DECLARE
            partition_name text := 'speed_readings_' || to_char(day, 'YYYYMMDD');
            lower_bound timestamptz := day::timestamp AT TIME ZONE 'UTC';
        BEGIN
            IF to_regclass(quote_ident(partition_name)) IS NOT NULL THEN
                RETURN NULL;
            END IF;
            PERFORM pg_advisory_xact_lock(\(partitionLockKey));
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF speed_readings FOR VALUES FROM (%L) TO (%L)',
                               partition_name, lower_bound, lower_bound + interval '1 day');
            EXCEPTION WHEN duplicate_table THEN
                RETURN NULL;
            END;
            RETURN partition_name;
        END
        $$;
        """

    /// The primary key also carries `speed` (`INCLUDE`, not a key column: uniqueness and `ON CONFLICT (sensor_id, ts)`
    /// are unchanged), so that `speedo history` reads a sensor's range from the index alone, in order, instead of
    /// visiting a heap page per handful of rows (readings of many sensors arrive interleaved). Each index entry
    /// grows by 8 bytes. The key is rebuilt on every partition under an exclusive lock, in the migration's
    /// transaction: writers wait for it (about 50 s for 10 million rows on 2 cores) and nothing is lost or doubled.
    /// Skipped when the key already includes `speed`, e.g. when an operator built it ahead.
    static let version2 = """
        DO $$
        DECLARE
            key_name text;
            covers_speed boolean;
        BEGIN
            SELECT c.conname, i.indnatts > i.indnkeyatts INTO key_name, covers_speed
            FROM pg_constraint c JOIN pg_index i ON i.indexrelid = c.conindid
            WHERE c.conrelid = 'speed_readings'::regclass AND c.contype = 'p';
            IF covers_speed THEN
                RETURN;
            END IF;
            EXECUTE format('ALTER TABLE speed_readings DROP CONSTRAINT %I, '
                           'ADD CONSTRAINT %I PRIMARY KEY (sensor_id, ts) INCLUDE (speed)', key_name, key_name);
        END
        $$;
        """

    /// What the history could not hold, recorded by the writer in the transaction that moves its offsets past it:
    /// - `speedo_history_gaps`: offsets of a partition whose records the brokers removed (retention, a size limit)
    ///   before the group read them; `acknowledged_at` is set by `speedo db gaps --acknowledge`, after which
    ///   `status --check` no longer counts the gap as critical.
    /// - `speedo_history_conflicts`: readings whose sensor and time already had another speed stored (the primary
    ///   key keeps the first); one row per sensor, time and speed, however often they are read again.
    static let version3 = """
        CREATE TABLE speedo_history_gaps (
            group_id text NOT NULL,
            topic text NOT NULL,
            partition int NOT NULL,
            first_offset bigint NOT NULL,
            last_offset bigint NOT NULL,
            detected_at timestamptz NOT NULL DEFAULT now(),
            acknowledged_at timestamptz,
            PRIMARY KEY (group_id, topic, partition, first_offset)
        );

        CREATE TABLE speedo_history_conflicts (
            sensor_id text NOT NULL,
            ts timestamptz NOT NULL,
            speed double precision NOT NULL,
            stored_speed double precision NOT NULL,
            group_id text NOT NULL,
            topic text NOT NULL,
            partition int,
            "offset" bigint,
            detected_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (sensor_id, ts, speed)
        );
        """

    /// `speed_readings_YYYYMMDD` for the UTC day containing `date`.
    package static func partitionName(for date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        let digits = String(format: "%04d%02d%02d", parts.year!, parts.month!, parts.day!)
        return "speed_readings_" + digits
    }
}

extension PostgresConnection {
    /// Creates every missing daily partition of `speed_readings` for the UTC days from the one
    /// containing `start` through the one containing `end`; returns the names of those it created
    /// (empty when all existed). Safe to call concurrently from several processes. Blocks.
    @discardableResult
    package func ensurePartitions(from start: Date, to end: Date) throws(PostgresError) -> [String] {
        let rows = try query("""
            SELECT speedo_ensure_daily_partition(day::date) AS created
            FROM generate_series((to_timestamp($1::double precision) AT TIME ZONE 'UTC')::date,
                                 (to_timestamp($2::double precision) AT TIME ZONE 'UTC')::date,
                                 interval '1 day') AS day
            """, [String(start.timeIntervalSince1970), String(end.timeIntervalSince1970)])
        return rows.compactMap { $0["created"] }
    }
}
