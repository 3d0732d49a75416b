import CLibPQ
import SpeedoCore

/// The rows of a result, copied out of libpq (text format) so they outlive the `PGresult`.
package struct PostgresRows: Sendable, RandomAccessCollection {
    package let columns: [String]
    private let values: [[String?]]

    init(_ result: ResultHandle) {
        let pointer = result.pointer
        let columnCount = PQnfields(pointer)
        let rowCount = PQntuples(pointer)
        columns = (0..<columnCount).map { String(cString: PQfname(pointer, $0)) }
        values = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(pointer, row, column) == 1 ? nil : String(cString: PQgetvalue(pointer, row, column))
            }
        }
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { values.count }

    package subscript(position: Int) -> PostgresRow {
        PostgresRow(columns: columns, values: values[position])
    }
}

/// One row; values are PostgreSQL's text output, `nil` for NULL.
package struct PostgresRow: Sendable {
    package let columns: [String]
    package let values: [String?]

    /// The raw text of `column`; asking for a column the query did not select is a programming error.
    package subscript(column: String) -> String? {
        guard let index = columns.firstIndex(of: column) else {
            preconditionFailure("no column \"\(column)\" in this result (columns: \(columns.joined(separator: ", ")))")
        }
        return values[index]
    }

    package func string(_ column: String) -> String? { self[column] }

    package func int(_ column: String) throws(PostgresError) -> Int? {
        try decode(column, as: "integer") { Int($0) }
    }

    package func double(_ column: String) throws(PostgresError) -> Double? {
        try decode(column, as: "double precision") { text in
            switch text {
            case "Infinity": .infinity
            case "-Infinity": -.infinity
            case "NaN": .nan
            default: Double(text)
            }
        }
    }

    package func bool(_ column: String) throws(PostgresError) -> Bool? {
        try decode(column, as: "boolean") { text in
            switch text {
            case "t": true
            case "f": false
            default: nil
            }
        }
    }

    private func decode<Value>(
        _ column: String, as typeName: String, _ parse: (String) -> Value?
    ) throws(PostgresError) -> Value? {
        guard let text = self[column] else { return nil }
        guard let value = parse(text) else {
            throw .decodingFailed(column: column, value: text, type: typeName)
        }
        return value
    }
}

/// A result in binary format, read where libpq keeps it (valid as long as this value lives): integers and floats
/// are big-endian, `timestamptz` is microseconds since 2000-01-01 UTC, `text` is its UTF-8 bytes.
struct BinaryRows {
    private let result: ResultHandle
    let count: Int

    init(_ result: ResultHandle) {
        self.result = result
        count = Int(PQntuples(result.pointer))
    }

    /// The index of `name`; asking for a column the query did not select is a programming error.
    func column(_ name: String) -> Int32 {
        let index = PQfnumber(result.pointer, name)
        precondition(index >= 0, "no column \"\(name)\" in this result")
        return index
    }

    func string(_ row: Int, _ column: Int32) -> String? {
        field(row, column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether the text in this field is exactly `text`, compared without making a `String`.
    func hasText(_ row: Int, _ column: Int32, equalTo text: String) -> Bool {
        guard let bytes = field(row, column) else { return false }
        var text = text
        return text.withUTF8 { $0.elementsEqual(bytes) }
    }

    /// `bigint` (`count(*)`, `generate_series` over bigint).
    func int64(_ row: Int, _ column: Int32) throws(PostgresError) -> Int64? {
        try fixedWidth(row, column, as: "bigint") { Int64(bitPattern: UInt64(bigEndian: $0)) }
    }

    func double(_ row: Int, _ column: Int32) throws(PostgresError) -> Double? {
        try fixedWidth(row, column, as: "double precision") { Double(bitPattern: UInt64(bigEndian: $0)) }
    }

    func timestamp(_ row: Int, _ column: Int32) throws(PostgresError) -> Timestamp? {
        try fixedWidth(row, column, as: "timestamptz") {
            Timestamp(microseconds: Int64(bitPattern: UInt64(bigEndian: $0)) &+ BinaryCopy.postgresEpochMicroseconds)
        }
    }

    /// A one-dimensional `double precision[]` without NULL elements (`array_agg` of a NOT NULL column), in order.
    func doubles(_ row: Int, _ column: Int32) throws(PostgresError) -> [Double]? {
        guard let bytes = field(row, column) else { return nil }
        func int32(at offset: Int) -> Int32 { Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)) }
        // Header: dimensions, has-nulls flag, element type; then (length, lower bound) per dimension; then each
        // element as a length and its bytes.
        let elementType: Int32 = 701
        let headerSize = 20
        let malformed = PostgresError.decodingFailed(
            column: String(cString: PQfname(result.pointer, column)),
            value: "\(bytes.count) bytes in binary format", type: "double precision[]")
        if bytes.count == 12, int32(at: 0) == 0 { return [] }
        guard bytes.count >= headerSize, int32(at: 0) == 1, int32(at: 8) == elementType else { throw malformed }
        let count = Int(int32(at: 12))
        guard count >= 0, bytes.count == headerSize + count * 12 else { throw malformed }
        var values: [Double] = []
        values.reserveCapacity(count)
        for offset in stride(from: headerSize, to: bytes.count, by: 12) {
            guard int32(at: offset) == 8 else { throw malformed }
            let bits = UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt64.self))
            values.append(Double(bitPattern: bits))
        }
        return values
    }

    /// The centroids of a `tdigest` (the extension's binary form: flags, count, compression and the number of
    /// centroids, then each centroid's mean and count), in ascending order of mean. A digest of the extension's first
    /// format (flags without bit 0) holds each centroid's sum instead of its mean.
    func centroids(_ row: Int, _ column: Int32) throws(PostgresError) -> [(mean: Double, count: Int64)]? {
        guard let bytes = field(row, column) else { return nil }
        func int32(at offset: Int) -> Int32 { Int32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)) }
        func int64(at offset: Int) -> Int64 { Int64(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
        let headerSize = 20
        guard bytes.count >= headerSize, case let count = Int(int32(at: 16)), count > 0,
            bytes.count == headerSize + count * 16
        else {
            throw .decodingFailed(
                column: String(cString: PQfname(result.pointer, column)),
                value: "\(bytes.count) bytes in binary format", type: "tdigest")
        }
        let storesMean = int32(at: 0) & 1 == 1
        var centroids: [(mean: Double, count: Int64)] = []
        centroids.reserveCapacity(count)
        for offset in stride(from: headerSize, to: bytes.count, by: 16) {
            let value = Double(bitPattern: UInt64(bitPattern: int64(at: offset)))
            let weight = int64(at: offset + 8)
            centroids.append((storesMean ? value : value / Double(weight), weight))
        }
        if !centroids.indices.dropFirst().allSatisfy({ centroids[$0 - 1].mean <= centroids[$0].mean }) {
            centroids.sort { $0.mean < $1.mean }
        }
        return centroids
    }

    private func field(_ row: Int, _ column: Int32) -> UnsafeRawBufferPointer? {
        let (pointer, row) = (result.pointer, Int32(row))
        guard PQgetisnull(pointer, row, column) == 0, let value = PQgetvalue(pointer, row, column) else { return nil }
        return UnsafeRawBufferPointer(start: value, count: Int(PQgetlength(pointer, row, column)))
    }

    /// Eight bytes read as they lie (unaligned), converted by `convert`; any other length is the wrong type.
    private func fixedWidth<Value>(
        _ row: Int, _ column: Int32, as typeName: String, _ convert: (_ bigEndianBits: UInt64) -> Value
    ) throws(PostgresError) -> Value? {
        guard let bytes = field(row, column) else { return nil }
        guard bytes.count == 8 else {
            throw .decodingFailed(
                column: String(cString: PQfname(result.pointer, column)),
                value: "\(bytes.count) bytes in binary format", type: typeName)
        }
        return convert(bytes.loadUnaligned(as: UInt64.self))
    }
}
