/// A scatter of points drawn with braille characters: each character cell holds 2×4 dots, so a chart of
/// `columns`×`rows` cells resolves (2·columns)×(4·rows) points, in plain text (no escape codes).
package struct BrailleChart {
    package var columns: Int
    package var rows: Int
    /// The value range of each axis; points outside are clamped to the edge.
    package var xRange: ClosedRange<Double>
    package var yRange: ClosedRange<Double>

    package init(columns: Int, rows: Int, xRange: ClosedRange<Double>, yRange: ClosedRange<Double>) {
        precondition(columns > 0 && rows > 0, "a chart needs at least one cell")
        self.columns = columns
        self.rows = rows
        self.xRange = xRange
        self.yRange = yRange
    }

    /// Dot bits of a braille cell (U+2800 + bits), indexed [dot column][dot row from the top].
    private static let dotBits: [[UInt32]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    /// The chart's lines, top row first; every line is exactly `columns` characters.
    package func render(_ points: [(x: Double, y: Double)]) -> [String] {
        var cells = [[UInt32]](repeating: [UInt32](repeating: 0, count: columns), count: rows)
        for point in points where point.x.isFinite && point.y.isFinite {
            let dotX = Self.scale(point.x, xRange, steps: columns * 2)
            // The top dot row is the largest value.
            let dotY = rows * 4 - 1 - Self.scale(point.y, yRange, steps: rows * 4)
            cells[dotY / 4][dotX / 2] |= Self.dotBits[dotX % 2][dotY % 4]
        }
        return cells.map { row in
            String(String.UnicodeScalarView(row.map { Unicode.Scalar(0x2800 + $0)! }))
        }
    }

    /// 0 ..< steps, the range's lower bound at 0 and its upper bound at steps - 1.
    private static func scale(_ value: Double, _ range: ClosedRange<Double>, steps: Int) -> Int {
        let span = range.upperBound - range.lowerBound
        guard span > 0 else { return 0 }
        let position = ((value - range.lowerBound) / span * Double(steps - 1)).rounded()
        return Int(min(max(position, 0), Double(steps - 1)))
    }
}
