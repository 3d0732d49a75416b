import CLibPQ

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
