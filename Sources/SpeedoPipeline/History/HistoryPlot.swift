package import SpeedoCore
import SpeedoTUI

/// `history --plot`: one braille chart per sensor (the first few), km/h on the y axis with labels, the time range
/// on the x axis, as wide as the terminal says (COLUMNS, else 80).
package struct HistoryPlot {
    package static let maximumSeries = 4
    package static let rows = 8

    package var width: Int
    package var since: Timestamp
    package var until: Timestamp

    package init(width: Int, since: Timestamp, until: Timestamp) {
        (self.width, self.since, self.until) = (width, since, until)
    }

    /// `series` in the order given: each sensor with its (time, km/h) points.
    package func render(_ series: [(sensor: String, points: [(Timestamp, Double)])]) -> [String] {
        let shown = series.prefix(Self.maximumSeries)
        let top = max(10, ((shown.flatMap { $0.points.map(\.1) }.max() ?? 0) / 10).rounded(.up) * 10)
        let labelWidth = String(Int(top)).count + 1
        let columns = max(10, width - labelWidth - 1)
        let chart = BrailleChart(
            columns: columns, rows: Self.rows, xRange: 0...Double((until - since).microseconds), yRange: 0...top)
        var lines: [String] = []
        for (sensor, points) in shown {
            lines.append("\(EscapedText.escape(sensor)) (km/h)")
            let grid = chart.render(points.map { (Double(($0.0 - since).microseconds), $0.1) })
            for (index, row) in grid.enumerated() {
                let label = index == 0 ? String(Int(top)) : index == grid.count - 1 ? "0" : ""
                lines.append(String(repeating: " ", count: labelWidth - 1 - label.count) + label + " ┤" + row)
            }
            lines.append(String(repeating: " ", count: labelWidth) + "└" + String(repeating: "─", count: columns))
            let start = since.rfc3339, end = until.rfc3339
            let gap = max(1, columns + 1 - start.count - end.count)
            lines.append(String(repeating: " ", count: labelWidth) + start + String(repeating: " ", count: gap) + end)
        }
        if series.count > shown.count {
            lines.append("(\(series.count - shown.count) more sensors not plotted: at most \(Self.maximumSeries))")
        }
        return lines
    }
}
