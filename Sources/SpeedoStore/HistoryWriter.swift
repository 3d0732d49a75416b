import Foundation
package import SpeedoCore

/// Rows for `speed_readings` and, for each Kafka partition they came from, the offset to resume from once they
/// are stored. Rows are kept as COPY text as they arrive, so writing a batch costs no second pass over it.
package struct HistoryBatch: Sendable {
    /// `sensor_id \t microseconds since the epoch \t speed \n` per row (COPY's text format).
    fileprivate private(set) var copyText: [UInt8] = []
    package private(set) var rowCount = 0
    /// UTC days (days since the epoch) the rows fall on: their partitions must exist before the COPY.
    fileprivate private(set) var days: Set<Int64> = []
    /// Partition → the next offset to read once this batch is stored (last consumed + 1).
    package private(set) var nextOffsets: [Int32: Int64] = [:]

    package init() {}

    /// True when storing the batch would change nothing (no rows, no offset moved).
    package var isEmpty: Bool { rowCount == 0 && nextOffsets.isEmpty }

    package mutating func append(_ reading: Reading) {
        HistoryCopyText.appendRow(reading, to: &copyText)
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
        copyText.removeAll(keepingCapacity: true)
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
/// nor repeats. Rows additionally go through a staging table and `INSERT … ON CONFLICT (sensor_id, ts) DO NOTHING`,
/// so even a replay of records already stored (two writers briefly owning one partition during a rebalance, or
/// offsets reset by an operator) cannot duplicate a row, and a reading sent twice cannot wedge the writer on a
/// unique violation.
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
            try preparePartitions(for: batch.days, on: connection)
            do {
                return try connection.transaction {
                    var inserted = 0
                    if batch.rowCount > 0 {
                        try connection.copy(
                            into: Self.stagingTable, columns: ["sensor_id", "ts_us", "speed"], format: .text,
                            data: batch.copyText)
                        inserted = try connection.execute("""
                            INSERT INTO speed_readings (sensor_id, ts, speed)
                            SELECT sensor_id, timestamptz 'epoch' + ts_us * interval '1 microsecond', speed
                            FROM \(Self.stagingTable)
                            ON CONFLICT (sensor_id, ts) DO NOTHING
                            """)
                    }
                    try storeOffsets(batch.nextOffsets, on: connection)
                    return HistoryWriteResult(rows: batch.rowCount, inserted: inserted)
                }
            } catch let error as PostgresError {
                // A partition dropped meanwhile (retention) shows up as a check violation: look again next time.
                preparedDays.removeAll()
                throw error
            } catch {
                preconditionFailure("the transaction body throws only PostgresError: \(error)")
            }
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

    /// Creates the daily partitions of new days, outside the batch's transaction so that the partition-creation
    /// lock is not held while rows are copied.
    private func preparePartitions(for days: Set<Int64>, on connection: PostgresConnection) throws(PostgresError) {
        for day in days.subtracting(preparedDays).sorted() {
            let start = Date(timeIntervalSince1970: Double(day) * 86_400)
            try connection.ensurePartitions(from: start, to: start)
            preparedDays.insert(day)
        }
    }

    /// The staging table lives as long as the session and empties itself at every commit; temporary tables write no
    /// WAL, so staging costs no durability work (the INSERT into speed_readings is what is made durable).
    private func prepareSession(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("""
            CREATE TEMPORARY TABLE IF NOT EXISTS \(Self.stagingTable) (
                sensor_id text NOT NULL,
                ts_us bigint NOT NULL,
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

/// COPY text format for history rows.
enum HistoryCopyText {
    /// Appends one row. Sensor ids are validated to a harmless alphabet before they get here, but the row is escaped
    /// as COPY requires anyway, so that no byte of an id can ever end a field or a row early.
    static func appendRow(_ reading: Reading, to buffer: inout [UInt8]) {
        appendField(reading.sensorID.utf8, to: &buffer)
        buffer.append(UInt8(ascii: "\t"))
        buffer.append(contentsOf: String(reading.timestamp.microseconds).utf8)
        buffer.append(UInt8(ascii: "\t"))
        CanonicalJSON.appendNumber(reading.speed, to: &buffer)
        buffer.append(UInt8(ascii: "\n"))
    }

    static func appendField(_ text: some Sequence<UInt8>, to buffer: inout [UInt8]) {
        for byte in text {
            switch byte {
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: buffer.append(byte)
            }
        }
    }
}
