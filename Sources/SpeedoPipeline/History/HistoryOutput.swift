package import SpeedoCore
package import SpeedoStore
import SpeedoTUI

/// How `speedo history` prints what it found.
package enum HistoryFormat: String, CaseIterable {
    case table, csv, ndjson, json
}

/// Renders readings or buckets in one of the `HistoryFormat`s, as the bytes for stdout.
///
/// The machine formats (csv, ndjson, json) render in fragments: each time slice that `history` reads on a
/// connection of its own is rendered on that slice's thread (`fragment`), and `document` puts the fragments together
/// in order, with the CSV header or the JSON brackets, as the pieces of the output (written one after another, not
/// copied into one buffer). A table needs every row to size its columns, so it is rendered at once.
package struct HistoryRenderer {
    package enum Rows {
        case readings, buckets
    }

    package var format: HistoryFormat

    package init(
        format: HistoryFormat
    ) {
        self.format = format
    }

    package func render(_ readings: ArraySlice<Reading>) -> [[UInt8]] {
        format == .table ? [table(readings)] : document([fragment(readings)], of: .readings)
    }

    package func render(_ buckets: ArraySlice<SpeedBucket>) -> [[UInt8]] {
        format == .table ? [table(buckets)] : document([fragment(buckets)], of: .buckets)
    }

    /// The rows of one slice, in a machine format: csv lines, ndjson lines, or json elements separated by `,\n`.
    package func fragment(_ readings: ArraySlice<Reading>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(readings.count * 48)
        switch format {
        case .table, .csv:
            for reading in readings { ReadingTextFormat.csv.appendLine(reading, to: &out) }
        case .ndjson, .json:
            appendJSON(readings, to: &out) { CanonicalJSON.append($0, to: &$1) }
        }
        return out
    }

    package func fragment(_ buckets: ArraySlice<SpeedBucket>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(buckets.count * 80)
        switch format {
        case .table, .csv:
            for bucket in buckets {
                CSVField.append(bucket.sensorID, to: &out)
                out.append(UInt8(ascii: ","))
                bucket.start.appendRFC3339(to: &out)
                out.append(contentsOf: ",\(bucket.count)".utf8)
                for figure in [bucket.minimum, bucket.average, bucket.maximum, bucket.percentile95] {
                    out.append(UInt8(ascii: ","))
                    CanonicalJSON.appendNumber(figure, to: &out)
                }
                out.append(UInt8(ascii: "\n"))
            }
        case .ndjson, .json:
            appendJSON(buckets, to: &out) { bucket, buffer in
                buffer.append(contentsOf: #"{"sensor_id":"#.utf8)
                CanonicalJSON.appendString(bucket.sensorID, to: &buffer)
                buffer.append(contentsOf: #","bucket_start":""#.utf8)
                bucket.start.appendRFC3339(to: &buffer)
                buffer.append(contentsOf: #"","count":\#(bucket.count)"#.utf8)
                for (name, value) in [
                    ("min", bucket.minimum), ("avg", bucket.average), ("max", bucket.maximum),
                    ("p95", bucket.percentile95),
                ] {
                    buffer.append(contentsOf: #","\#(name)":"#.utf8)
                    CanonicalJSON.appendNumber(value, to: &buffer)
                }
                buffer.append(UInt8(ascii: "}"))
            }
        }
        return out
    }

    /// The fragments in order, as the pieces of one output: after the CSV header, or inside one JSON array.
    package func document(_ fragments: [[UInt8]], of rows: Rows) -> [[UInt8]] {
        let filled = fragments.filter { !$0.isEmpty }
        switch format {
        case .table, .csv:
            let header = rows == .readings ? ReadingTextFormat.csv.header! : "sensor_id,bucket_start,count,min,avg,max,p95"
            return [Array((header + "\n").utf8)] + filled
        case .ndjson:
            return filled
        case .json:
            let separator = Array(",\n".utf8)
            return [[UInt8(ascii: "[")]] + filled.enumerated().flatMap { $0 > 0 ? [separator, $1] : [$1] }
                + [Array("]\n".utf8)]
        }
    }

    package func table(_ readings: ArraySlice<Reading>) -> [UInt8] {
        var table = TextTable([.init("SENSOR"), .init("TIME (UTC)"), .init("SPEED km/h", .right)])
        for reading in readings {
            table.append([EscapedText.escape(reading.sensorID), reading.timestamp.rfc3339, number(reading.speed)])
        }
        var out: [UInt8] = []
        appendLines(table.render(), to: &out)
        return out
    }

    package func table(_ buckets: ArraySlice<SpeedBucket>) -> [UInt8] {
        var table = TextTable([
            .init("SENSOR"), .init("BUCKET START (UTC)"), .init("COUNT", .right), .init("MIN km/h", .right),
            .init("AVG km/h", .right), .init("MAX km/h", .right), .init("P95 km/h", .right),
        ])
        for bucket in buckets {
            table.append([
                EscapedText.escape(bucket.sensorID), bucket.start.rfc3339, "\(bucket.count)",
                rounded(bucket.minimum), rounded(bucket.average), rounded(bucket.maximum),
                rounded(bucket.percentile95),
            ])
        }
        var out: [UInt8] = []
        appendLines(table.render(), to: &out)
        return out
    }

    /// `ndjson`: one object a line; `json`: elements separated by `,\n` (the brackets are the document's).
    private func appendJSON<Item>(_ items: ArraySlice<Item>, to out: inout [UInt8], _ element: (Item, inout [UInt8]) -> Void) {
        for index in items.indices {
            let item = items[index]
            if format == .json && index > items.startIndex { out.append(contentsOf: ",\n".utf8) }
            element(item, &out)
            if format == .ndjson { out.append(UInt8(ascii: "\n")) }
        }
    }

    private func appendLines(_ lines: [String], to out: inout [UInt8]) {
        for line in lines { out.append(contentsOf: (line + "\n").utf8) }
    }

    private func number(_ value: Double) -> String {
        var buffer: [UInt8] = []
        CanonicalJSON.appendNumber(value, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Two decimals for people; the machine formats keep every digit.
    private func rounded(_ value: Double) -> String {
        let hundredths = (value * 100).rounded()
        let whole = Int64(hundredths) / 100, fraction = abs(Int64(hundredths) % 100)
        let sign = hundredths < 0 && whole == 0 ? "-" : ""
        return "\(sign)\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
