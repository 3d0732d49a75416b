import Foundation
package import SpeedoCore

/// Rows for `speed_readings` and, for each Kafka partition they came from, the offset to resume from once they
/// are stored. Rows are kept as binary COPY tuples as they arrive, so writing a batch costs no second pass over it.
package struct HistoryBatch: Sendable {
    /// One binary COPY tuple per row (sensor_id, ts, speed), without the format's header and trailer.
    fileprivate private(set) var tuples: [UInt8] = []
    package private(set) var rowCount = 0
    /// UTC days (days since the epoch) the rows fall on: their partitions must exist before the COPY.
    fileprivate private(set) var days: Set<Int64> = []
    /// Partition → the next offset to read once this batch is stored (last consumed + 1).
    package private(set) var nextOffsets: [Int32: Int64] = [:]
    /// Where each row's record was read, in row order; empty for rows that come from no record (a replay).
    fileprivate private(set) var positions: [RecordPosition] = []
    /// Records the brokers no longer held when this batch's offsets moved past them.
    package private(set) var gaps: [HistoryGap] = []

    package init() {}

    /// True when storing the batch would change nothing (no rows, no offset moved).
    package var isEmpty: Bool { rowCount == 0 && nextOffsets.isEmpty }

    /// `position`: the record the reading came from, named when the reading turns out to conflict with a stored one.
    package mutating func append(_ reading: Reading, from position: (partition: Int32, offset: Int64)? = nil) {
        BinaryCopy.appendRow(reading, to: &tuples)
        rowCount += 1
        if let position { positions.append(RecordPosition(partition: position.partition, offset: position.offset)) }
        // Valid readings are after 2000-01-01, so truncating division is the floor.
        days.insert(reading.timestamp.microseconds / 86_400_000_000)
    }

    /// Records that `offsets` of `partition` were gone before they were read: stored with the batch, so that the
    /// loss is recorded exactly when the offsets move past it.
    package mutating func recordGap(partition: Int32, offsets: ClosedRange<Int64>) {
        gaps.append(HistoryGap(partition: partition, offsets: offsets))
    }

    /// Records that everything before `offset` in `partition` is accounted for (stored, or sent to the dead-letter
    /// topic) once this batch commits.
    package mutating func advance(partition: Int32, to offset: Int64) {
        nextOffsets[partition] = offset
    }

    package mutating func removeAll() {
        tuples.removeAll(keepingCapacity: true)
        rowCount = 0
        days.removeAll(keepingCapacity: true)
        nextOffsets.removeAll(keepingCapacity: true)
        positions.removeAll(keepingCapacity: true)
        gaps.removeAll()
    }
}

/// A record's place in the topic the writer reads.
package struct RecordPosition: Sendable, Equatable {
    package var partition: Int32
    package var offset: Int64
}

/// Offsets of one partition whose records were removed by the brokers (retention, or a size limit) before the
/// writer read them: readings that will never be in the history.
package struct HistoryGap: Sendable, Equatable {
    package var partition: Int32
    package var offsets: ClosedRange<Int64>
}

/// A reading whose (sensor_id, ts) already has a row with another speed: the primary key keeps the stored one, and
/// this one is recorded in speedo_history_conflicts instead.
package struct HistoryConflict: Sendable, Equatable {
    package var reading: Reading
    /// The speed the history keeps for that sensor and time.
    package var storedSpeed: Double
    /// Where the reading was read; nil when it came from no record (a replay).
    package var position: RecordPosition?

    package init(reading: Reading, storedSpeed: Double, position: RecordPosition?) {
        (self.reading, self.storedSpeed, self.position) = (reading, storedSpeed, position)
    }

    /// What happened, for a note on stderr and the dead-letter reason.
    package var explanation: String {
        "sensor_id \(EscapedText.quoted(reading.sensorID)) at ts \(reading.timestamp.rfc3339) already has speed "
            + "\(Self.shown(storedSpeed)) stored; this reading's speed \(Self.shown(reading.speed)) conflicts with it "
            + "and was not stored (the history keeps one reading per sensor and time: the first)"
    }

    private static func shown(_ speed: Double) -> String {
        var text: [UInt8] = []
        CanonicalJSON.appendNumber(speed, to: &text)
        return String(decoding: text, as: UTF8.self)
    }
}

/// What storing one batch did.
package struct HistoryWriteResult: Sendable, Equatable {
    /// Rows the batch carried.
    package var rows: Int
    /// Rows that were new; the others were already stored (a replay, or a reading sent twice) or conflicting.
    package var inserted: Int
    /// Rows not stored because another speed is stored for their sensor and time, recorded for the first time.
    package var conflicts: Int
    /// Records missing from the history, recorded with this batch (the sum of its gaps' sizes).
    package var missingRecords: Int64

    package init(rows: Int, inserted: Int, conflicts: Int = 0, missingRecords: Int64 = 0) {
        (self.rows, self.inserted, self.conflicts, self.missingRecords) = (rows, inserted, conflicts, missingRecords)
    }
}

/// The PostgreSQL half of `speedo consume postgres`: stores batches of readings together with the Kafka offsets
/// they cover, in one transaction, and tells a consumer where each partition resumes.
///
/// Why this is exactly-once: rows and `speedo_consumer_offsets` commit together, so after any crash the stored
/// offsets say precisely which records the stored rows came from, and a consumer that resumes there neither skips
/// nor repeats. What could not be stored is recorded in the same transaction: gaps (records the brokers removed
/// before they were read) in `speedo_history_gaps`, conflicts (another speed for a stored sensor and time) in
/// `speedo_history_conflicts`. So every record is a row, a dead letter, or a recorded loss.
///
/// Rows that are already stored: a batch is first COPied straight into `speed_readings` (as fast as COPY gets). If
/// any of its rows is already there (a replay: two writers briefly owning one partition during a rebalance, offsets
/// reset by an operator, or one reading sent twice), that COPY fails on the primary key and rolls back, and the same
/// batch goes again through a staging table: rows with the key and speed of a stored one are "already there", rows
/// with its key and another speed are conflicts, and the rest goes in with `INSERT … ON CONFLICT (sensor_id, ts) DO
/// NOTHING`. Slower (about 1.6× the server time, measured), but only for such batches. So a replay can neither
/// duplicate a row nor wedge the writer on a unique violation, and a differing reading never vanishes unseen.
///
/// Connection handling: the first call connects; a call that fails because the connection broke drops it, and the
/// next call reconnects (once, no waiting: the caller chooses how to back off). Every method blocks (libpq) and the
/// type is not `Sendable`: use it from one dedicated thread.
package final class HistoryWriter {
    package let group: String
    package let topic: String
    private let conninfo: String
    private var connection: PostgresConnection?
    /// Days whose partition this writer has already made sure of, so steady traffic costs no extra round trip.
    private var preparedDays: Set<Int64> = []
    /// Whether the database keeps rollups (`HistoryRollups`), found out on connecting.
    private var maintainsRollups = false

    /// A test's fault point: runs inside a batch's transaction after the COPY and everything else the batch stores,
    /// just before COMMIT. What it throws rolls the batch back; it may also break the connection, as a crash would.
    /// Never set outside tests.
    package var beforeCommit: ((PostgresConnection) throws -> Void)?

    private static let stagingTable = "speedo_history_staging"
    private static let columns = ["sensor_id", "ts", "speed"]
    private static let uniqueViolation = "23505"
    /// check_violation, which is what an insert into a range no partition covers raises.
    private static let noPartitionForRow = "23514"

    package init(conninfo: String, group: String, topic: String) {
        (self.conninfo, self.group, self.topic) = (conninfo, group, topic)
    }

    /// The server as shown in messages (socket path or host:port), once connected.
    package var server: String? { connection?.server }

    /// Connects now (retrying per `retry`), bringing the schema up to date.
    package func connect(
        retry: Backoff?, onRetry: (PostgresRetryNotice) -> Void = { _ in }
    ) throws -> MigrationReport {
        let fresh = try PostgresConnection.connect(conninfo, retry: retry, onRetry: onRetry)
        let report = try SchemaMigrations.apply(on: fresh)
        try prepareSession(fresh)
        maintainsRollups = try fresh.hasRollups()
        connection = fresh
        return report
    }

    /// Frees the connection; a later call reconnects.
    package func close() {
        connection?.close()
        connection = nil
    }

    /// The stored next offset of each of `partitions` that has one.
    package func storedOffsets(partitions: [Int32]) throws(PostgresError) -> [Int32: Int64] {
        try Self.typed {
            try withConnection { connection in
                try connection.consumerOffsets(group: group, topic: topic).filter { partitions.contains($0.key) }
            }
        }
    }

    /// Stores the rows, the offsets and the gaps in one transaction: all or none. Conflicting rows are recorded in
    /// the same transaction and handed to `onConflicts` before it commits (to send them to the dead-letter topic):
    /// whatever it throws rolls the whole batch back. Only conflicts recorded for the first time are handed over,
    /// so a replayed batch does not send them again.
    package func write(
        _ batch: HistoryBatch, onConflicts: ([HistoryConflict]) throws -> Void = { _ in }
    ) throws -> HistoryWriteResult {
        guard !batch.isEmpty || !batch.gaps.isEmpty else { return HistoryWriteResult(rows: 0, inserted: 0) }
        return try withConnection { connection in
            do {
                return try store(batch, on: connection, onConflicts: onConflicts)
            } catch let error as PostgresError where error.sqlState == Self.noPartitionForRow {
                // A day this writer had prepared lost its partition meanwhile (`HistoryRetention` dropped it): the
                // transaction rolled back, so make the partitions again and store the batch once more.
                preparedDays.removeAll()
                return try store(batch, on: connection, onConflicts: onConflicts)
            }
        }
    }

    private func store(
        _ batch: HistoryBatch, on connection: PostgresConnection, onConflicts: ([HistoryConflict]) throws -> Void
    ) throws -> HistoryWriteResult {
        try preparePartitions(for: batch.days, on: connection)
        let data = batch.rowCount > 0 ? BinaryCopy.document(batch.tuples) : []
        do {
            return try connection.transaction {
                var inserted = batch.rowCount
                if batch.rowCount > 0 {
                    // Rollups are fed from the rows the INSERT reports, so the batch goes through the staging table;
                    // without them, straight in.
                    if maintainsRollups {
                        try connection.copy(into: Self.stagingTable, columns: Self.columns, format: .binary, data: data)
                        inserted = try insertStaged(skippingStored: false, on: connection)
                    } else {
                        try connection.copy(into: "speed_readings", columns: Self.columns, format: .binary, data: data)
                    }
                }
                let missing = try storeGaps(batch.gaps, on: connection)
                try storeOffsets(batch.nextOffsets, on: connection)
                try beforeCommit?(connection)
                return HistoryWriteResult(rows: batch.rowCount, inserted: inserted, missingRecords: missing)
            }
        } catch let error as PostgresError where error.sqlState == Self.uniqueViolation {
            return try connection.transaction {
                try connection.copy(into: Self.stagingTable, columns: Self.columns, format: .binary, data: data)
                let conflicts = try findConflicts(in: batch, on: connection)
                let inserted = try insertStaged(skippingStored: true, on: connection)
                let recorded = try record(conflicts, on: connection)
                if !recorded.isEmpty { try onConflicts(recorded) }
                let missing = try storeGaps(batch.gaps, on: connection)
                try storeOffsets(batch.nextOffsets, on: connection)
                try beforeCommit?(connection)
                return HistoryWriteResult(
                    rows: batch.rowCount, inserted: inserted, conflicts: recorded.count, missingRecords: missing)
            }
        }
    }

    /// Moves the staged rows into `speed_readings` (leaving out those whose key is stored when `skippingStored`, else
    /// failing on them) and adds the rows it inserted to the rollups; returns how many it inserted.
    private func insertStaged(skippingStored: Bool, on connection: PostgresConnection) throws(PostgresError) -> Int {
        let insert = """
            INSERT INTO speed_readings (sensor_id, ts, speed)
            SELECT sensor_id, ts, speed FROM \(Self.stagingTable)
            \(skippingStored ? "ON CONFLICT (sensor_id, ts) DO NOTHING" : "")
            """
        guard maintainsRollups else { return try connection.execute(insert) }
        return try connection.query("""
            WITH new_rows AS (\(insert) RETURNING sensor_id, ts, speed),
            \(HistoryRollups.upserts(from: "new_rows"))
            SELECT count(*) AS inserted FROM new_rows
            """).first?.int("inserted") ?? 0
    }

    /// The staged rows whose key is stored, or staged earlier in the batch, with another speed: the row the primary
    /// key keeps is the stored one, else the batch's first.
    private func findConflicts(in batch: HistoryBatch, on connection: PostgresConnection) throws -> [HistoryConflict] {
        let rows = try connection.query("""
            WITH staged AS (
                SELECT row_index - min(row_index) OVER () AS row_number, sensor_id, ts, speed,
                       first_value(speed) OVER (PARTITION BY sensor_id, ts ORDER BY row_index) AS first_speed
                FROM \(Self.stagingTable)
            )
            SELECT staged.row_number, staged.sensor_id,
                   (extract(epoch FROM staged.ts) * 1000000)::bigint AS ts_us, staged.speed,
                   coalesce(stored.speed, staged.first_speed) AS kept_speed
            FROM staged LEFT JOIN speed_readings stored ON stored.sensor_id = staged.sensor_id AND stored.ts = staged.ts
            WHERE staged.speed <> coalesce(stored.speed, staged.first_speed)
            ORDER BY staged.row_number
            """)
        return try rows.map { row throws(PostgresError) in
            let rowNumber = try row.int("row_number") ?? 0
            let reading = Reading(
                sensorID: row.string("sensor_id") ?? "", speed: try row.double("speed") ?? 0,
                timestamp: Timestamp(microseconds: Int64(try row.int("ts_us") ?? 0)))
            return HistoryConflict(
                reading: reading, storedSpeed: try row.double("kept_speed") ?? 0,
                position: rowNumber < batch.positions.count ? batch.positions[rowNumber] : nil)
        }
    }

    /// Records `conflicts` (once per sensor, time and speed, however often they are read again); returns those that
    /// were not recorded before.
    private func record(_ conflicts: [HistoryConflict], on connection: PostgresConnection) throws -> [HistoryConflict] {
        guard !conflicts.isEmpty else { return [] }
        let rows = try connection.query(
            """
            INSERT INTO speedo_history_conflicts
                (sensor_id, ts, speed, stored_speed, group_id, topic, partition, "offset", detected_at)
            SELECT sensor_id, timestamptz 'epoch' + ts_us * interval '1 microsecond', speed, stored_speed, $1, $2,
                   partition, "offset", now()
            FROM unnest($3::text[], $4::bigint[], $5::float8[], $6::float8[], $7::int[], $8::bigint[])
                AS found(sensor_id, ts_us, speed, stored_speed, partition, "offset")
            ON CONFLICT (sensor_id, ts, speed) DO NOTHING
            RETURNING sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS ts_us, speed
            """,
            [group, topic, Self.arrayLiteral(conflicts.map(\.reading.sensorID)),
             Self.arrayLiteral(conflicts.map(\.reading.timestamp.microseconds)),
             Self.arrayLiteral(conflicts.map { String($0.reading.speed) }),
             Self.arrayLiteral(conflicts.map { String($0.storedSpeed) }),
             Self.arrayLiteral(conflicts.map { $0.position.map { String($0.partition) } }),
             Self.arrayLiteral(conflicts.map { $0.position.map { String($0.offset) } })])
        var new = Set<ConflictKey>()
        for row in rows {
            new.insert(ConflictKey(
                sensorID: row.string("sensor_id") ?? "", microseconds: Int64(try row.int("ts_us") ?? 0),
                speed: try row.double("speed") ?? 0))
        }
        return conflicts.filter { new.contains(ConflictKey($0.reading)) }
    }

    private struct ConflictKey: Hashable {
        var sensorID: String
        var microseconds: Int64
        var speed: Double

        init(sensorID: String, microseconds: Int64, speed: Double) {
            (self.sensorID, self.microseconds, self.speed) = (sensorID, microseconds, speed)
        }

        init(_ reading: Reading) {
            self.init(sensorID: reading.sensorID, microseconds: reading.timestamp.microseconds, speed: reading.speed)
        }
    }

    /// Returns how many records the newly recorded gaps cover.
    private func storeGaps(_ gaps: [HistoryGap], on connection: PostgresConnection) throws(PostgresError) -> Int64 {
        guard !gaps.isEmpty else { return 0 }
        let rows = try connection.query(
            """
            INSERT INTO speedo_history_gaps (group_id, topic, partition, first_offset, last_offset, detected_at)
            SELECT $1, $2, partition, first_offset, last_offset, now()
            FROM unnest($3::int[], $4::bigint[], $5::bigint[]) AS gap(partition, first_offset, last_offset)
            ON CONFLICT (group_id, topic, partition, first_offset) DO NOTHING
            RETURNING last_offset - first_offset + 1 AS records
            """,
            [group, topic, Self.arrayLiteral(gaps.map(\.partition)), Self.arrayLiteral(gaps.map(\.offsets.lowerBound)),
             Self.arrayLiteral(gaps.map(\.offsets.upperBound))])
        var records: Int64 = 0
        for row in rows { records += Int64(try row.int("records") ?? 0) }
        return records
    }

    private func storeOffsets(_ offsets: [Int32: Int64], on connection: PostgresConnection) throws(PostgresError) {
        guard !offsets.isEmpty else { return }
        let ordered = offsets.sorted { $0.key < $1.key }
        try connection.query(
            """
            INSERT INTO speedo_consumer_offsets (group_id, topic, partition, next_offset, updated_at)
            SELECT $1, $2, partition, next_offset, now()
            FROM unnest($3::int[], $4::bigint[]) AS moved(partition, next_offset)
            ON CONFLICT (group_id, topic, partition)
            DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = EXCLUDED.updated_at
            """,
            [group, topic, Self.arrayLiteral(ordered.map(\.key)), Self.arrayLiteral(ordered.map(\.value))])
    }

    /// Creates the daily partitions of new days, and of the day after each, outside the batch's transaction so that
    /// the partition-creation lock is not held while rows are copied. The day after is made ahead of its data, so
    /// that live readings do not wait at midnight for a partition to be created.
    private func preparePartitions(for days: Set<Int64>, on connection: PostgresConnection) throws(PostgresError) {
        for day in days.subtracting(preparedDays).sorted() {
            let start = Date(timeIntervalSince1970: Double(day) * 86_400)
            try connection.ensurePartitions(from: start, to: start + 86_400)
            preparedDays.formUnion([day, day + 1])
        }
    }

    /// The staging table lives as long as the session and empties itself at every commit; temporary tables write no
    /// WAL, so staging costs no durability work (the INSERT into speed_readings is what is made durable). Its first
    /// columns are those of speed_readings, so that one COPY document fits both; `row_index` numbers the rows in the
    /// order they were copied, which is how a conflicting row is traced back to its record.
    private func prepareSession(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("""
            CREATE TEMPORARY TABLE IF NOT EXISTS \(Self.stagingTable) (
                sensor_id text NOT NULL,
                ts timestamptz NOT NULL,
                speed double precision NOT NULL,
                row_index bigint GENERATED ALWAYS AS IDENTITY
            ) ON COMMIT DELETE ROWS
            """)
    }

    private func withConnection<Result>(_ body: (PostgresConnection) throws -> Result) throws -> Result {
        let current: PostgresConnection
        if let connection {
            current = connection
        } else {
            _ = try connect(retry: nil)
            current = connection!
        }
        do {
            return try body(current)
        } catch let error as PostgresError {
            if error.isTransient || error == .closed { close() }
            throw error
        }
    }

    /// `body`'s error as the `PostgresError` it is.
    private static func typed<Result>(_ body: () throws -> Result) throws(PostgresError) -> Result {
        do {
            return try body()
        } catch let error as PostgresError {
            throw error
        } catch {
            preconditionFailure("expected only PostgresError: \(error)")
        }
    }

    private static func arrayLiteral(_ values: [some BinaryInteger]) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
    }

    /// A text array literal: every element quoted (nil is NULL), so that no character of an element can end it.
    private static func arrayLiteral(_ values: [String?]) -> String {
        let elements = values.map { value in
            guard let value else { return "NULL" }
            return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{" + elements.joined(separator: ",") + "}"
    }
}

extension PostgresError {
    /// The server's SQLSTATE when the server rejected a statement.
    var sqlState: String? {
        guard case .queryFailed(let error, _) = self else { return nil }
        return error.sqlState
    }
}

/// PostgreSQL's binary COPY format for history rows: every field is length-prefixed, so no byte of a sensor id
/// (validated to a harmless alphabet before it gets here anyway) can end a field or a row early, and timestamps and
/// speeds travel in their stored form (no text to format or parse).
enum BinaryCopy {
    /// `PGCOPY\n\377\r\n\0`, then 32-bit flags and header-extension length, both 0.
    private static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// A field count of -1.
    private static let trailer: [UInt8] = [0xFF, 0xFF]
    /// timestamptz counts microseconds from 2000-01-01T00:00:00Z.
    static let postgresEpochMicroseconds: Int64 = 946_684_800_000_000

    static func document(_ tuples: [UInt8]) -> [UInt8] {
        var document = header
        document.reserveCapacity(header.count + tuples.count + trailer.count)
        document.append(contentsOf: tuples)
        document.append(contentsOf: trailer)
        return document
    }

    static func appendRow(_ reading: Reading, to buffer: inout [UInt8]) {
        append(UInt16(3), to: &buffer)
        var sensorID = reading.sensorID
        sensorID.withUTF8 { bytes in
            append(UInt32(bytes.count), to: &buffer)
            buffer.append(contentsOf: bytes)
        }
        append(UInt32(8), to: &buffer)
        append(UInt64(bitPattern: reading.timestamp.microseconds - postgresEpochMicroseconds), to: &buffer)
        append(UInt32(8), to: &buffer)
        append(reading.speed.bitPattern, to: &buffer)
    }

    private static func append(_ value: some FixedWidthInteger, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
