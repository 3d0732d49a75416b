import ArgumentParser
import SpeedoCore
import SpeedoStore
import SpeedoTUI

/// How `speedo history` prints what it found.
enum HistoryFormat: String, ExpressibleByArgument, CaseIterable {
    case table, csv, ndjson, json
}

/// Renders readings or buckets in one of the `HistoryFormat`s, as the bytes for stdout.
struct HistoryRenderer {
    var format: HistoryFormat

    func render(_ readings: [Reading]) -> [UInt8] {
        var out: [UInt8] = []
        switch format {
        case .table:
            var table = TextTable([.init("SENSOR"), .init("TIME (UTC)"), .init("SPEED km/h", .right)])
            for reading in readings {
                table.append([EscapedText.escape(reading.sensorID), reading.timestamp.rfc3339, number(reading.speed)])
            }
            appendLines(table.render(), to: &out)
        case .csv:
            let csv = ReadingTextFormat.csv
            out.reserveCapacity(readings.count * 48)
            out.append(contentsOf: (csv.header! + "\n").utf8)
            for reading in readings { csv.appendLine(reading, to: &out) }
        case .ndjson, .json:
            appendJSON(readings, to: &out) { CanonicalJSON.append($0, to: &$1) }
        }
        return out
    }

    func render(_ buckets: [SpeedBucket]) -> [UInt8] {
        var out: [UInt8] = []
        switch format {
        case .table:
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
            appendLines(table.render(), to: &out)
        case .csv:
            out.append(contentsOf: "sensor_id,bucket_start,count,min,avg,max,p95\n".utf8)
            for bucket in buckets {
                let cells = [
                    bucket.sensorID, bucket.start.rfc3339, "\(bucket.count)", number(bucket.minimum),
                    number(bucket.average), number(bucket.maximum), number(bucket.percentile95),
                ]
                out.append(contentsOf: (cells.joined(separator: ",") + "\n").utf8)
            }
        case .ndjson, .json:
            appendJSON(buckets, to: &out) { bucket, buffer in
                buffer.append(contentsOf: #"{"sensor_id":"#.utf8)
                CanonicalJSON.appendString(bucket.sensorID, to: &buffer)
                buffer.append(contentsOf: #","bucket_start":""#.utf8)
                buffer.append(contentsOf: bucket.start.rfc3339.utf8)
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

    /// `ndjson`: one object a line; `json`: one array, one element a line.
    private func appendJSON<Item>(_ items: [Item], to out: inout [UInt8], _ element: (Item, inout [UInt8]) -> Void) {
        if format == .json { out.append(UInt8(ascii: "[")) }
        for (index, item) in items.enumerated() {
            if format == .json && index > 0 { out.append(contentsOf: ",\n".utf8) }
            element(item, &out)
            if format == .ndjson { out.append(UInt8(ascii: "\n")) }
        }
        if format == .json { out.append(contentsOf: "]\n".utf8) }
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
