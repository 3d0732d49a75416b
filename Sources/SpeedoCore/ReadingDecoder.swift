/// The time given to a reading that carries no `ts` (or a null or empty one).
package enum MissingTime: Sendable {
    /// When it was received, kept apart per sensor: what ingest gives it.
    case received(ReceptionStamps)
    /// The time of the record it was read from (its Kafka timestamp), when that is a valid reading time: reading the
    /// record again gives it the same time, so a replay or a second writer stores it under the same key.
    case recorded(Timestamp)

    /// `recorded` at a Kafka timestamp (milliseconds), when the record has one.
    package static func recorded(kafkaTimestampMs: Int64?) -> MissingTime? {
        kafkaTimestampMs.map { .recorded(Timestamp(microseconds: $0 * 1_000)) }
    }
}

package enum InputFormat: String, Sendable, CaseIterable {
    case ndjson
    case csv
}

package enum LineOutcome: Sendable, Equatable {
    case reading(Reading)
    /// A blank line or the CSV header.
    case skipped
    case rejected(Rejection)
}

/// Turns the lines of one input stream into readings, validated against the event contract.
///
/// Works on the raw UTF-8 bytes of each line, without Foundation and without allocating except for
/// the sensor id (which is a small, inline `String` for ids up to 15 bytes). Keeps per-stream state:
/// the detected format and whether a CSV header may still appear.
package struct ReadingDecoder: Sendable {
    package private(set) var format: InputFormat?
    /// The last line decoded was a reading in `CanonicalJSON`'s form byte for byte: the line is its record value as
    /// it is, and a publisher may copy it instead of encoding the reading again.
    package private(set) var lineIsCanonical = false
    private var hasSeenContent = false
    /// Reused for strings with escapes (JSON `\u…`, CSV `""`), so they cost no allocation after the first.
    private var scratch: [UInt8] = []
    /// The time of readings without `ts` (or with a null or empty one); nil gives them `now` as it is, which only a
    /// reader that stores nothing may do (two such readings of one sensor would share a key in the history).
    private let missingTime: MissingTime?

    /// With `format` nil, the first non-blank line decides: `{` means NDJSON, anything else CSV.
    package init(format: InputFormat? = nil, missingTime: MissingTime? = nil) {
        (self.format, self.missingTime) = (format, missingTime)
    }

    package mutating func decode(line: UnsafeRawBufferPointer, now: Timestamp) -> LineOutcome {
        lineIsCanonical = false
        if format != .csv, let (reading, isCanonical) = Self.decodeInCanonicalLayout(line, now: now) {
            (format, hasSeenContent, lineIsCanonical) = (.ndjson, true, isCanonical)
            return .reading(reading)
        }
        let firstContent = JSONScanner.skipWhitespace(line, from: 0)
        guard firstContent < line.count else { return .skipped }
        let format = self.format ?? (line[firstContent] == UInt8(ascii: "{") ? .ndjson : .csv)
        self.format = format
        let isFirstContentLine = !hasSeenContent
        hasSeenContent = true
        do throws(Rejection) {
            switch format {
            case .ndjson:
                return .reading(try decodeJSON(line, now: now))
            case .csv:
                guard let reading = try decodeCSV(line, now: now, headerAllowed: isFirstContentLine) else {
                    return .skipped
                }
                return .reading(reading)
            }
        } catch {
            return .rejected(error)
        }
    }

    /// A line from `LineSplitter`; one cut at the length limit is rejected rather than misread.
    package mutating func decode(_ line: LineSplitter.Line, now: Timestamp) -> LineOutcome {
        guard !line.isTruncated else {
            return .rejected(
                Rejection.malformedLine("is longer than \(line.bytes.count) bytes", line.bytes, code: .lineTooLong))
        }
        return decode(line: line.bytes, now: now)
    }

    /// One JSON object, as in a Kafka record value written by `ingest` or by another producer. What speedo wrote
    /// takes the shortcut, as ingest's lines do.
    package static func decode(
        value: UnsafeRawBufferPointer, now: Timestamp, missingTime: MissingTime? = nil
    ) -> Result<Reading, Rejection> {
        if let (reading, _) = decodeInCanonicalLayout(value, now: now) { return .success(reading) }
        var decoder = ReadingDecoder(format: .ndjson, missingTime: missingTime)
        do throws(Rejection) {
            return .success(try decoder.decodeJSON(value, now: now))
        } catch {
            return .failure(error)
        }
    }

    package static func decode(
        value: [UInt8], now: Timestamp, missingTime: MissingTime? = nil
    ) -> Result<Reading, Rejection> {
        value.withUnsafeBytes { decode(value: $0, now: now, missingTime: missingTime) }
    }

    /// A JSON array of objects (an HTTP body such as `[{…},{…}]`): one result per element, in order.
    /// Fails as a whole only when the body is not a well-formed array.
    package static func decodeArray(
        value: UnsafeRawBufferPointer, now: Timestamp, missingTime: MissingTime? = nil
    ) -> Result<[Result<Reading, Rejection>], Rejection> {
        Result { () throws(Rejection) in
            var scanner = JSONScanner(value)
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: "[") else { throw Rejection.malformedLine("not a JSON array", value) }
            scanner.advance()
            scanner.skipWhitespace()
            var results: [Result<Reading, Rejection>] = []
            if scanner.peek() == UInt8(ascii: "]") {
                scanner.advance()
            } else {
                while true {
                    scanner.skipWhitespace()
                    let element = try scanner.scanValue()
                    results.append(decode(value: element.text(in: value), now: now, missingTime: missingTime))
                    if try scanner.scanSeparator(closer: UInt8(ascii: "]"), input: "body") { break }
                }
            }
            scanner.skipWhitespace()
            guard scanner.isAtEnd else { throw scanner.malformed("unexpected text after the array") }
            return results
        }
    }

    // MARK: NDJSON

    private enum Key {
        case sensorID, speed, ts, other
    }

    /// The general path: any JSON object, keys in any order, whitespace, escapes.
    mutating func decodeJSON(_ line: UnsafeRawBufferPointer, now: Timestamp) throws(Rejection) -> Reading {
        var scanner = JSONScanner(line)
        scanner.skipWhitespace()
        guard scanner.peek() == UInt8(ascii: "{") else {
            throw Rejection.malformedLine("not a JSON object", line)
        }
        scanner.advance()
        var sensorID: JSONScanner.Value?
        var speed: JSONScanner.Value?
        var ts: JSONScanner.Value?
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.advance()
        } else {
            while true {
                let key = try scanner.scanKey()
                let value = try scanner.scanValue()
                switch try identify(key, in: line) {
                case .sensorID:
                    guard sensorID == nil else { throw ReadingRules.duplicate("sensor_id") }
                    sensorID = value
                case .speed:
                    guard speed == nil else { throw ReadingRules.duplicate("speed") }
                    speed = value
                case .ts:
                    guard ts == nil else { throw ReadingRules.duplicate("ts") }
                    ts = value
                case .other:
                    break
                }
                if try scanner.scanSeparator(closer: UInt8(ascii: "}")) { break }
            }
        }
        scanner.skipWhitespace()
        guard scanner.isAtEnd else { throw scanner.malformed("unexpected text after the object") }

        guard let sensorID else { throw ReadingRules.missing("sensor_id") }
        guard let speed else { throw ReadingRules.missing("speed") }
        let validID = try jsonSensorID(sensorID, in: line)
        let validSpeed = try jsonSpeed(speed, in: line)
        let timestamp = try ts.flatMap { value throws(Rejection) in try jsonTime(value, in: line, now: now) }
        return Reading(sensorID: validID, speed: validSpeed, timestamp: timestamp ?? stamp(validID, now: now))
    }

    /// A line laid out as speedo writes readings (`{"sensor_id":"…","speed":…,"ts":…}`: these keys in this order, no
    /// spaces, no escapes), validated by the same rules at a fraction of the general scanner's cost: most input is
    /// such lines, written by speedo or by a producer that follows the contract's example. Anything else, and any
    /// line that breaks a rule, is nil: the general path reads it again and gives the same reading or its rejection.
    /// With the reading, whether its numbers are also in their canonical form (so that the line is the record value).
    @inline(__always)
    private static func decodeInCanonicalLayout(_ line: UnsafeRawBufferPointer, now: Timestamp) -> (Reading, Bool)? {
        let count = line.count
        guard let idStart = line.afterLiteral(#"{"sensor_id":""#, at: 0) else { return nil }
        var idEnd = idStart
        while idEnd < count, ReadingRules.isAllowedInSensorID(line[idEnd]) { idEnd += 1 }
        guard let speedStart = line.afterLiteral(#"","speed":"#, at: idEnd) else { return nil }
        var speedEnd = speedStart
        guard let speedNumber = DecimalNumber.scan(line, from: speedStart, end: &speedEnd),
            let timeStart = line.afterLiteral(#","ts":"#, at: speedEnd)
        else { return nil }
        var timeEnd = timeStart
        guard let timeNumber = DecimalNumber.scan(line, from: timeStart, end: &timeEnd),
            timeEnd == count - 1, line[timeEnd] == UInt8(ascii: "}")
        else { return nil }
        let speedText = UnsafeRawBufferPointer(rebasing: line[speedStart..<speedEnd])
        let timeText = UnsafeRawBufferPointer(rebasing: line[timeStart..<timeEnd])
        do throws(Rejection) {
            let sensorID = try ReadingRules.sensorID(
                ofAllowedCharacters: UnsafeRawBufferPointer(rebasing: line[idStart..<idEnd]))
            guard let speedValue = speedNumber.doubleValue(source: speedText) else { return nil }
            let speed = try ReadingRules.speed(speedValue, shown: "")
            let timestamp = try ReadingRules.epochTime(timeNumber, source: timeText, now: now)
            let isCanonical = CanonicalJSON.isCanonicalNumber(speedText, scannedAs: speedNumber, value: speed)
                && CanonicalJSON.isCanonicalEpochSeconds(timeText, scannedAs: timeNumber)
            return (Reading(sensorID: sensorID, speed: speed, timestamp: timestamp), isCanonical)
        } catch {
            return nil
        }
    }

    /// The time of a reading that came without one.
    private func stamp(_ sensorID: String, now: Timestamp) -> Timestamp {
        switch missingTime {
        case .received(let stamps): stamps.stamp(sensorID, receivedAt: now)
        case .recorded(let time) where time >= ReadingRules.earliestTime && time <= now + ReadingRules.allowedFutureSkew:
            time
        case .recorded, nil: now
        }
    }

    @inline(__always)
    private mutating func identify(_ key: JSONScanner.Value, in line: UnsafeRawBufferPointer) throws(Rejection) -> Key {
        try withContent(of: key, in: line) { bytes throws(Rejection) in Self.identify(rawKey: bytes) }
    }

    /// Calls `body` with a string value's text: a view into the line, or, when it has escapes, the
    /// decoded text in `scratch`.
    @inline(__always)
    private mutating func withContent<Result>(
        of value: JSONScanner.Value, in line: UnsafeRawBufferPointer,
        _ body: (UnsafeRawBufferPointer) throws(Rejection) -> Result
    ) throws(Rejection) -> Result {
        guard value.hasEscapes else { return try body(value.content(in: line)) }
        scratch.removeAll(keepingCapacity: true)
        try JSONScanner.unescape(value, in: line, into: &scratch)
        return try scratch.withBytes(body)
    }

    /// Compares whole words instead of byte by byte: this runs for every key of every line.
    @inline(__always)
    private static func identify(rawKey: UnsafeRawBufferPointer) -> Key {
        switch rawKey.count {
        case 2 where rawKey.loadUnaligned(as: UInt16.self) == littleEndianWord("ts"):
            return .ts
        case 5
        where rawKey.loadUnaligned(as: UInt32.self) == littleEndianWord("spee") && rawKey[4] == UInt8(ascii: "d"):
            return .speed
        case 9
        where rawKey.loadUnaligned(as: UInt64.self) == littleEndianWord("sensor_i") && rawKey[8] == UInt8(ascii: "d"):
            return .sensorID
        default:
            return .other
        }
    }

    @inline(__always)
    private static func littleEndianWord<Word: FixedWidthInteger>(_ text: StaticString) -> Word {
        var word: Word = 0
        for index in 0..<text.utf8CodeUnitCount { word |= Word(text.utf8Start[index]) << (8 * index) }
        return Word(littleEndian: word)
    }

    private mutating func jsonSensorID(_ value: JSONScanner.Value, in line: UnsafeRawBufferPointer) throws(Rejection)
        -> String
    {
        guard value.kind == .string else {
            throw Rejection(
                code: .wrongType, field: "sensor_id", rule: "must be a string",
                value: EscapedText.escape(bytes: value.text(in: line)))
        }
        return try withContent(of: value, in: line) { bytes throws(Rejection) in try ReadingRules.sensorID(bytes) }
    }

    private func jsonSpeed(_ value: JSONScanner.Value, in line: UnsafeRawBufferPointer) throws(Rejection) -> Double {
        let text = value.text(in: line)
        guard case .number(let number) = value.kind, let speed = number.doubleValue(source: text) else {
            throw Rejection(
                code: .wrongType, field: "speed",
                rule: value.kind == .string ? "must be a JSON number, not a string" : "must be a JSON number",
                value: EscapedText.escape(bytes: text))
        }
        return try ReadingRules.speed(speed, shown: EscapedText.escape(bytes: text))
    }

    /// nil for `null`, which stands for no time.
    private mutating func jsonTime(_ value: JSONScanner.Value, in line: UnsafeRawBufferPointer, now: Timestamp)
        throws(Rejection) -> Timestamp?
    {
        switch value.kind {
        case .number(let number):
            return try ReadingRules.epochTime(number, source: value.text(in: line), now: now)
        case .string:
            return try withContent(of: value, in: line) { bytes throws(Rejection) in
                try ReadingRules.textTime(bytes, now: now)
            }
        case .null:
            return nil
        default:
            throw Rejection(
                code: .wrongType, field: "ts", rule: ReadingRules.timeForms,
                value: EscapedText.escape(bytes: value.text(in: line)))
        }
    }

    // MARK: CSV

    /// `nil` for the header line.
    private mutating func decodeCSV(
        _ line: UnsafeRawBufferPointer, now: Timestamp, headerAllowed: Bool
    ) throws(Rejection) -> Reading? {
        let fields = try CSVFields(line)
        guard fields.count == 2 || fields.count == 3 else {
            throw Rejection.malformedLine(
                "expected 2 or 3 CSV columns (sensor_id,speed[,ts]), found \(fields.count)", line)
        }
        if headerAllowed, fields.isHeader(in: line) { return nil }

        let sensorID = try fields.withField(0, in: line, scratch: &scratch) { bytes throws(Rejection) in
            guard !bytes.isEmpty else { throw ReadingRules.missing("sensor_id") }
            return try ReadingRules.sensorID(CSVField.withoutFormulaGuard(bytes))
        }
        let speed = try fields.withField(1, in: line, scratch: &scratch) { bytes throws(Rejection) in
            guard !bytes.isEmpty else { throw ReadingRules.missing("speed") }
            guard let number = DecimalNumber.parse(bytes), let speed = number.doubleValue(source: bytes) else {
                throw Rejection(
                    code: .wrongType, field: "speed", rule: "must be a number", value: EscapedText.quoted(bytes: bytes))
            }
            return try ReadingRules.speed(speed, shown: EscapedText.escape(bytes: bytes))
        }
        guard fields.count == 3 else { return Reading(sensorID: sensorID, speed: speed, timestamp: stamp(sensorID, now: now)) }
        let timestamp = try fields.withField(2, in: line, scratch: &scratch) { bytes throws(Rejection) -> Timestamp? in
            if bytes.isEmpty { return nil }
            if let number = DecimalNumber.parse(bytes) {
                return try ReadingRules.epochTime(number, source: bytes, now: now)
            }
            return try ReadingRules.textTime(bytes, now: now)
        }
        return Reading(sensorID: sensorID, speed: speed, timestamp: timestamp ?? stamp(sensorID, now: now))
    }
}

/// The fields of one CSV line (RFC 4180 quoting, spaces around fields ignored), as spans into the line.
/// Only the first three are kept; `count` counts all of them.
struct CSVFields {
    private struct Span {
        var start = 0
        var end = 0
        var isQuoted = false
        var hasDoubledQuotes = false
    }

    private var spans = (Span(), Span(), Span())
    private(set) var count = 0

    init(_ line: UnsafeRawBufferPointer) throws(Rejection) {
        let length = line.count
        var index = 0
        while true {
            var span = Span()
            index = Self.skipBlanks(line, from: index)
            if index < length, line[index] == UInt8(ascii: "\"") {
                let openingQuote = index
                span.isQuoted = true
                index += 1
                span.start = index
                while true {
                    guard index < length else {
                        throw Rejection.malformedLine(
                            "unterminated quoted field starting at column \(openingQuote + 1)", line)
                    }
                    if line[index] == UInt8(ascii: "\"") {
                        if index + 1 < length, line[index + 1] == UInt8(ascii: "\"") {
                            span.hasDoubledQuotes = true
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                span.end = index
                index = Self.skipBlanks(line, from: index + 1)
                guard index == length || line[index] == UInt8(ascii: ",") else {
                    throw Rejection.malformedLine("unexpected text after a quoted field at column \(index + 1)", line)
                }
            } else {
                span.start = index
                while index < length, line[index] != UInt8(ascii: ",") { index += 1 }
                span.end = index
                while span.end > span.start, Self.isBlank(line[span.end - 1]) { span.end -= 1 }
            }
            store(span)
            guard index < length else { return }
            index += 1  // the comma
        }
    }

    private mutating func store(_ span: Span) {
        switch count {
        case 0: spans.0 = span
        case 1: spans.1 = span
        case 2: spans.2 = span
        default: break
        }
        count += 1
    }

    private func span(_ index: Int) -> Span {
        switch index {
        case 0: spans.0
        case 1: spans.1
        default: spans.2
        }
    }

    /// Calls `body` with the field's text, its quotes removed and `""` made `"`.
    func withField<Result>(
        _ index: Int, in line: UnsafeRawBufferPointer, scratch: inout [UInt8],
        _ body: (UnsafeRawBufferPointer) throws(Rejection) -> Result
    ) throws(Rejection) -> Result {
        let span = span(index)
        let raw = UnsafeRawBufferPointer(rebasing: line[span.start..<span.end])
        guard span.hasDoubledQuotes else { return try body(raw) }
        scratch.removeAll(keepingCapacity: true)
        var position = 0
        while position < raw.count {
            scratch.append(raw[position])
            position += raw[position] == UInt8(ascii: "\"") ? 2 : 1
        }
        return try scratch.withBytes { bytes throws(Rejection) in try body(bytes) }
    }

    /// `sensor_id,speed[,ts]` in any letter case.
    func isHeader(in line: UnsafeRawBufferPointer) -> Bool {
        let names = ["sensor_id", "speed", "ts"]
        for index in 0..<count {
            let span = span(index)
            let text = line[span.start..<span.end]
            guard text.count == names[index].utf8.count,
                zip(text, names[index].utf8).allSatisfy({ Self.asciiLowercased($0) == $1 })
            else { return false }
        }
        return true
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }

    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    private static func skipBlanks(_ line: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < line.count, isBlank(line[index]) { index += 1 }
        return index
    }
}

extension [UInt8] {
    /// `withUnsafeBytes` for a closure with a typed error (`rethrows` would widen it to `any Error`).
    func withBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let outcome = withUnsafeBytes { bytes in Swift.Result { () throws(Failure) -> Result in try body(bytes) } }
        return try outcome.get()
    }
}

extension UnsafeRawBufferPointer {
    /// The position after `literal` when the bytes from `start` on begin with it; nil otherwise.
    @inline(__always)
    fileprivate func afterLiteral(_ literal: StaticString, at start: Int) -> Int? {
        let length = literal.utf8CodeUnitCount
        guard start + length <= count else { return nil }
        for index in 0..<length where self[start + index] != literal.utf8Start[index] { return nil }
        return start + length
    }
}
