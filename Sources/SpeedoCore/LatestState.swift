/// One sensor's live state, the value of its record in the compacted topic `speed-latest` (key = sensor_id):
///
/// `{"sensor_id":"sensor-1","speed":42.5,"ts":1700000000.5,"window_s":60,"count":600,"min":0,"avg":38.2,"max":71.5}`
///
/// The first three fields are the newest reading, exactly as on the readings topic (`CanonicalJSON`), so a
/// reading decoder reads them too; then the statistics over the `window_s` seconds of event time ending at it:
/// `count` readings, their `min`, `avg` (the mean, shortest text that reads back to the same double) and `max`.
/// Keys in this order, no spaces.
package struct LatestState: Sendable, Hashable {
    package var reading: Reading
    package var windowSeconds: Int
    package var statistics: RollingStats.Summary

    package init(reading: Reading, windowSeconds: Int, statistics: RollingStats.Summary) {
        (self.reading, self.windowSeconds, self.statistics) = (reading, windowSeconds, statistics)
    }

    package func encoded() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(160)
        append(to: &buffer)
        return buffer
    }

    /// `encoded()`, appended to `buffer`.
    package func append(to buffer: inout [UInt8]) {
        CanonicalJSON.append(reading, to: &buffer)
        buffer.removeLast()  // the reading's closing brace: the statistics follow inside the same object
        buffer.append(contentsOf: #","window_s":"#.utf8)
        buffer.append(contentsOf: String(windowSeconds).utf8)
        buffer.append(contentsOf: #","count":"#.utf8)
        buffer.append(contentsOf: String(statistics.count).utf8)
        buffer.append(contentsOf: #","min":"#.utf8)
        CanonicalJSON.appendNumber(statistics.minimum, to: &buffer)
        buffer.append(contentsOf: #","avg":"#.utf8)
        CanonicalJSON.appendNumber(statistics.average, to: &buffer)
        buffer.append(contentsOf: #","max":"#.utf8)
        CanonicalJSON.appendNumber(statistics.maximum, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }

    /// Reads a value written by `encoded` (keys in any order, whitespace allowed). The reading is checked with the
    /// rules of every reading (`now` bounds `ts`); the statistics must be present, finite and consistent
    /// (`window_s` ≥ 1, `count` ≥ 1, `min` ≤ `avg` ≤ `max`).
    package static func decode(_ value: [UInt8], now: Timestamp) -> Result<LatestState, Rejection> {
        let reading: Reading
        switch ReadingDecoder.decode(value: value, now: now) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let decoded): reading = decoded
        }
        return value.withUnsafeBytes { line in
            do throws(Rejection) {
                let numbers = try topLevelNumbers(line, named: ["window_s", "count", "min", "avg", "max"])
                func required(_ name: String) throws(Rejection) -> Double {
                    guard let number = numbers[name], number.isFinite else {
                        throw Rejection(code: .missingField, field: name, rule: "is required (a finite number)", value: nil)
                    }
                    return number
                }
                let window = try required("window_s"), count = try required("count")
                let minimum = try required("min"), average = try required("avg"), maximum = try required("max")
                guard window >= 1, window == window.rounded(), window <= Double(Int32.max) else {
                    throw Rejection(code: .outOfRange, field: "window_s", rule: "must be a whole number ≥ 1",
                                    value: String(window))
                }
                guard count >= 1, count == count.rounded(), count <= Double(Int32.max) else {
                    throw Rejection(code: .outOfRange, field: "count", rule: "must be a whole number ≥ 1",
                                    value: String(count))
                }
                // The mean is rounded: allow it a hair outside [min, max].
                let slack = 1e-9 * max(1, abs(maximum))
                guard minimum <= maximum, average >= minimum - slack, average <= maximum + slack else {
                    throw Rejection(code: .outOfRange, field: "avg", rule: "must lie between min and max",
                                    value: "min \(minimum), avg \(average), max \(maximum)")
                }
                return .success(LatestState(
                    reading: reading, windowSeconds: Int(window),
                    statistics: RollingStats.Summary(
                        count: Int(count), minimum: minimum, average: average, maximum: maximum)))
            } catch {
                return .failure(error)
            }
        }
    }

    /// The numbers among the top-level members `names` (other members, and non-numbers, are left out).
    private static func topLevelNumbers(
        _ line: UnsafeRawBufferPointer, named names: Set<String>
    ) throws(Rejection) -> [String: Double] {
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else { throw Rejection.malformedLine("not a JSON object", line) }
        scanner.advance()
        var numbers: [String: Double] = [:]
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") { return numbers }
        while true {
            let key = try scanner.scanKey()
            let value = try scanner.scanValue()
            let name = String(decoding: key.content(in: line), as: UTF8.self)
            if names.contains(name), case .number = value.kind {
                numbers[name] = Double(String(decoding: value.text(in: line), as: UTF8.self))
            }
            if try scanner.scanSeparator(closer: UInt8(ascii: "}")) { return numbers }
        }
    }
}
