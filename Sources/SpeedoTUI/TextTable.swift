/// Rows of text aligned in columns for people (`status`, `history --format table`); cells must already
/// be safe to print (see `EscapedText`).
package struct TextTable {
    package enum Alignment: Sendable {
        case left, right
    }

    package struct Column: Sendable {
        package var header: String
        package var alignment: Alignment

        package init(_ header: String, _ alignment: Alignment = .left) {
            (self.header, self.alignment) = (header, alignment)
        }
    }

    package var columns: [Column]
    package private(set) var rows: [[String]] = []

    package init(_ columns: [Column]) {
        self.columns = columns
    }

    package mutating func append(_ row: [String]) {
        precondition(row.count == columns.count, "a row needs one cell per column")
        rows.append(row)
    }

    /// The table as lines, columns separated by two spaces, trailing spaces trimmed.
    package func render() -> [String] {
        var widths = columns.map { DisplayWidth.of($0.header) }
        for row in rows {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], DisplayWidth.of(cell))
            }
        }
        return ([columns.map(\.header)] + rows).map { cells in
            var line = ""
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - DisplayWidth.of(cell))
                if index > 0 { line += "  " }
                line += columns[index].alignment == .left ? cell + padding : padding + cell
            }
            while line.last == " " { line.removeLast() }
            return line
        }
    }
}
