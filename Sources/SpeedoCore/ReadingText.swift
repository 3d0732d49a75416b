/// Readings as lines of text for pipelines (`consume stdout`, `simulate --stdout`).
package enum ReadingTextFormat: String, Sendable, CaseIterable {
    /// One canonical JSON object per line (`CanonicalJSON`).
    case ndjson
    /// `sensor_id,speed,ts` after a header line: `ts` as epoch seconds with fraction, the form `ingest` reads back.
    /// Sensor ids need no quoting: their characters exclude commas, quotes and line breaks.
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
            buffer.append(contentsOf: reading.sensorID.utf8)
            buffer.append(UInt8(ascii: ","))
            CanonicalJSON.appendNumber(reading.speed, to: &buffer)
            buffer.append(UInt8(ascii: ","))
            CanonicalJSON.appendEpochSeconds(reading.timestamp, to: &buffer)
        }
        buffer.append(UInt8(ascii: "\n"))
    }
}
