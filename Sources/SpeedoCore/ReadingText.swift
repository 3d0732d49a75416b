/// Readings as lines of text for pipelines and spreadsheets (`consume stdout`, `replay`, `history`,
/// `simulate --stdout`).
package enum ReadingTextFormat: String, Sendable, CaseIterable {
    /// One canonical JSON object per line (`CanonicalJSON`).
    case ndjson
    /// `sensor_id,speed,ts` after a header line, `ts` in RFC 3339 (UTC): readable in a spreadsheet, and read back
    /// by `ingest`. The id is a `CSVField`: quoted, escaped and kept from being a formula where it needs it.
    case csv

    /// The line that comes before the first reading, if the format has one (without its newline).
    package var header: String? {
        switch self {
        case .ndjson: nil
        case .csv: "sensor_id,speed,ts"
        }
    }

    /// Appends `reading` and a newline.
    package func appendLine(_ reading: Reading, to buffer: inout [UInt8]) {
        switch self {
        case .ndjson:
            CanonicalJSON.append(reading, to: &buffer)
        case .csv:
            CSVField.append(reading.sensorID, to: &buffer)
            buffer.append(UInt8(ascii: ","))
            CanonicalJSON.appendNumber(reading.speed, to: &buffer)
            buffer.append(UInt8(ascii: ","))
            reading.timestamp.appendRFC3339(to: &buffer)
        }
        buffer.append(UInt8(ascii: "\n"))
    }
}
