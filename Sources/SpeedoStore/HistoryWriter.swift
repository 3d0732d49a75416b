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

    package init() {}

    /// True when storing the batch would change nothing (no rows, no offset moved).
    package var isEmpty: Bool { rowCount == 0 && nextOffsets.isEmpty }

    package mutating func append(_ reading: Reading) {
        BinaryCopy.appendRow(reading, to: &tuples)
        rowCount += 1
        // Valid readings are after 2000-01-01, so truncating division is the floor.
        days.insert(reading.timestamp.microseconds / 86_400_000_000)
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
    }
}

/// What storing one batch did.
package struct HistoryWriteResult: Sendable, Equatable {
    /// Rows the batch carried.
    package var rows: Int
    /// Rows that were new; the others were already stored (a replay, or a reading sent twice).
    package var inserted: Int

    package init(rows: Int, inserted: Int) {
        self.rows = rows
        self.inserted = inserted
    }
}

/// The PostgreSQL half of `speedo consume postgres`: stores batches of readings together with the Kafka offsets
/// they cover, in one transaction, and tells a consumer where each partition resumes.
///
/// Why this is exactly-once: rows and `speedo_consumer_offsets` commit together, so after any crash the stored
/// offsets say precisely which records the stored rows came from, and a consumer that resumes there neither skips
/// nor repeats.
///
/// Rows that are already stored: a batch is first COPied straight into `speed_readings` (as fast as COPY gets). If
/// any of its rows is already there (a replay: two writers briefly owning one partition during a rebalance, offsets
/// reset by an operator, or one reading sent twice), that COPY fails on the primary key and rolls back, and the same
/// batch goes again through a staging table and `INSERT … ON CONFLICT (sensor_id, ts) DO NOTHING`: slower (about
/// 1.6× the server time, measured), but only for such batches. So a replay can neither duplicate a row nor wedge the
/// writer on a unique violation.
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

    private static let stagingTable = "speedo_history_staging"
    private static let columns = ["sensor_id", "ts", "speed"]
    private static let uniqueViolation = "23505"
    /// check_violation, which is what an insert into a range no partition covers raises.
    private static let noPartitionForRow = "23514"

    package init(conninfo: String, group: String, topic: String) {
        self.conninfo = conninfo
        self.group = group
        self.topic = topic
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
        try withConnection { (connection) throws(PostgresError) -> [Int32: Int64] in
            let rows = try connection.query(
                """
                SELECT partition, next_offset FROM speedo_consumer_offsets
                WHERE group_id = $1 AND topic = $2 AND partition = ANY($3::int[])
                """,
                [group, topic, Self.arrayLiteral(partitions)])
            var offsets: [Int32: Int64] = [:]
            for row in rows {
                guard let partition = try row.int("partition"), let next = try row.int("next_offset") else { continue }
                offsets[Int32(partition)] = Int64(next)
            }
            return offsets
        }
    }

    /// Stores the rows and the offsets in one transaction: both or neither.
    package func write(_ batch: HistoryBatch) throws(PostgresError) -> HistoryWriteResult {
        guard !batch.isEmpty else { return HistoryWriteResult(rows: 0, inserted: 0) }
        return try withConnection { (connection) throws(PostgresError) -> HistoryWriteResult in
            do throws(PostgresError) {
                return try store(batch, on: connection)
            } catch .queryFailed(let error, _) where error.sqlState == Self.noPartitionForRow {
                // A day this writer had prepared lost its partition meanwhile (`HistoryRetention` dropped it): the
                // transaction rolled back, so make the partitions again and store the batch once more.
                preparedDays.removeAll()
                return try store(batch, on: connection)
            }
        }
    }

    private func store(_ batch: HistoryBatch, on connection: PostgresConnection) throws(PostgresError) -> HistoryWriteResult {
        try preparePartitions(for: batch.days, on: connection)
        let data = batch.rowCount > 0 ? BinaryCopy.document(batch.tuples) : []
        do throws(PostgresError) {
            return try inTransaction(on: connection) { () throws(PostgresError) -> HistoryWriteResult in
                if batch.rowCount > 0 {
                    try connection.copy(into: "speed_readings", columns: Self.columns, format: .binary, data: data)
                }
                try storeOffsets(batch.nextOffsets, on: connection)
                return HistoryWriteResult(rows: batch.rowCount, inserted: batch.rowCount)
            }
        } catch .queryFailed(let error, _) where error.sqlState == Self.uniqueViolation {
            return try inTransaction(on: connection) { () throws(PostgresError) -> HistoryWriteResult in
                try connection.copy(into: Self.stagingTable, columns: Self.columns, format: .binary, data: data)
                let inserted = try connection.execute("""
                    INSERT INTO speed_readings (sensor_id, ts, speed)
                    SELECT sensor_id, ts, speed FROM \(Self.stagingTable)
                    ON CONFLICT (sensor_id, ts) DO NOTHING
                    """)
                try storeOffsets(batch.nextOffsets, on: connection)
                return HistoryWriteResult(rows: batch.rowCount, inserted: inserted)
            }
        }
    }

    /// `connection.transaction` with the typed error this type throws.
    private func inTransaction<Result>(
        on connection: PostgresConnection, _ body: () throws(PostgresError) -> Result
    ) throws(PostgresError) -> Result {
        do {
            return try connection.transaction { try body() }
        } catch let error as PostgresError {
            throw error
        } catch {
            preconditionFailure("the transaction body throws only PostgresError: \(error)")
        }
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
    /// WAL, so staging costs no durability work (the INSERT into speed_readings is what is made durable). Its
    /// columns are those of speed_readings, so that one COPY document fits both.
    private func prepareSession(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("""
            CREATE TEMPORARY TABLE IF NOT EXISTS \(Self.stagingTable) (
                sensor_id text NOT NULL,
                ts timestamptz NOT NULL,
                speed double precision NOT NULL
            ) ON COMMIT DELETE ROWS
            """)
    }

    private func withConnection<Result>(
        _ body: (PostgresConnection) throws(PostgresError) -> Result
    ) throws(PostgresError) -> Result {
        let current: PostgresConnection
        if let connection {
            current = connection
        } else {
            do {
                _ = try connect(retry: nil)
            } catch let error as PostgresError {
                throw error
            } catch {
                preconditionFailure("connecting throws only PostgresError: \(error)")
            }
            current = connection!
        }
        do {
            return try body(current)
        } catch {
            if error.isTransient || error == .closed { close() }
            throw error
        }
    }

    private static func arrayLiteral(_ values: [some BinaryInteger]) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
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
