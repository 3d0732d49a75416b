/// One validated speed measurement: the unit of the event contract.
package struct Reading: Sendable, Hashable {
    package var sensorID: String
    /// km/h, finite, 0...1000.
    package var speed: Double
    package var timestamp: Timestamp

    package init(sensorID: String, speed: Double, timestamp: Timestamp) {
        (self.sensorID, self.speed, self.timestamp) = (sensorID, speed, timestamp)
    }
}

extension Reading {
    /// A reading built in code (the simulator, an HTTP form) checked against the same rules as decoded input.
    package static func validated(
        sensorID: String, speed: Double, timestamp: Timestamp, now: Timestamp
    ) throws(Rejection) -> Reading {
        let id = try Array(sensorID.utf8).withBytes { bytes throws(Rejection) in try ReadingRules.sensorID(bytes) }
        var speedText: [UInt8] = []
        CanonicalJSON.appendNumber(speed, to: &speedText)
        let validSpeed = try ReadingRules.speed(speed, shown: String(decoding: speedText, as: UTF8.self))
        let validTime = try ReadingRules.time(
            exact: timestamp, approximateSeconds: timestamp.seconds, shown: CanonicalJSON.epochSeconds(timestamp),
            now: now)
        return Reading(sensorID: id, speed: validSpeed, timestamp: validTime)
    }
}

/// Why one input record was not accepted. A value, not a failure of the stream: ingest reports it as
/// `FILE:LINE: <description>` and carries on with the next record.
package struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// Written out (a dead letter's header, an HTTP rejection reply), unlike the codes of speedo's other errors.
    package enum Code: String, Sendable {
        case malformedLine = "malformed-line"
        case lineTooLong = "line-too-long"
        case missingField = "missing-field"
        case duplicateField = "duplicate-field"
        case wrongType = "wrong-type"
        case invalidCharacter = "invalid-character"
        case invalidLength = "invalid-length"
        case outOfRange = "out-of-range"
        case timeTooEarly = "time-too-early"
        case timeInFuture = "time-in-future"
        case timeInWrongUnit = "time-in-wrong-unit"
    }

    package let code: Code
    /// `sensor_id`, `speed`, `ts`, or `line` for a record that could not be read at all.
    package let field: String
    package let rule: String
    /// The offending value, already escaped and truncated for display.
    package let value: String?

    /// A line that could not be read as a record at all; the value shown is the line itself.
    static func malformedLine(
        _ rule: String, _ line: UnsafeRawBufferPointer, code: Code = .malformedLine
    ) -> Rejection {
        Rejection(code: code, field: "line", rule: rule, value: EscapedText.escape(bytes: line))
    }

    package var description: String {
        guard let value else { return "\(field): \(rule)" }
        return "\(field): \(rule) (got \(value))"
    }
}

/// The event contract's field rules, shared by every input format.
enum ReadingRules {
    static let sensorIDMaximumLength = 64
    static let speedRange = 0.0...1000.0
    /// 2000-01-01T00:00:00Z
    static let earliestTime = Timestamp(microseconds: 946_684_800_000_000)
    static let allowedFutureSkew = TimeSpan.seconds(300)

    static let sensorIDAlphabet = "A-Z a-z 0-9 . _ : / -"
    static let timeForms = "must be epoch seconds or an RFC 3339 time such as 2024-05-01T12:00:00Z"

    @inline(__always)
    static func isAllowedInSensorID(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"),
            UInt8(ascii: "/"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    static func missing(_ field: String) -> Rejection {
        Rejection(code: .missingField, field: field, rule: "is required", value: nil)
    }

    static func duplicate(_ field: String) -> Rejection {
        Rejection(code: .duplicateField, field: field, rule: "must appear only once", value: nil)
    }

    /// `bytes` is the decoded text of the id (escapes resolved, quotes removed).
    @inline(__always)
    static func sensorID(_ bytes: UnsafeRawBufferPointer) throws(Rejection) -> String {
        var index = 0
        while index < bytes.count {
            guard isAllowedInSensorID(bytes[index]) else { throw invalidSensorIDCharacter(bytes, at: index) }
            index += 1
        }
        return try sensorID(ofAllowedCharacters: bytes)
    }

    /// The rest of `sensorID(_:)`, for a reader that took only allowed characters.
    @inline(__always)
    static func sensorID(ofAllowedCharacters bytes: UnsafeRawBufferPointer) throws(Rejection) -> String {
        let count = bytes.count
        guard count > 0, count <= sensorIDMaximumLength else {
            throw Rejection(
                code: .invalidLength, field: "sensor_id",
                rule: "must be 1 to \(sensorIDMaximumLength) characters long" + (count > 0 ? ", not \(count)" : ""),
                value: EscapedText.quoted(bytes: bytes))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func invalidSensorIDCharacter(_ bytes: UnsafeRawBufferPointer, at index: Int) -> Rejection {
        let isContinuation: (UInt8) -> Bool = { $0 & 0xC0 == 0x80 }
        let characterNumber = bytes[..<index].count { !isContinuation($0) } + 1
        var end = index + 1
        while end < bytes.count, end - index < 4, isContinuation(bytes[end]) { end += 1 }
        let character = EscapedText.quoted(bytes: bytes[index..<end])
        return Rejection(
            code: .invalidCharacter, field: "sensor_id",
            rule: "may only contain \(sensorIDAlphabet), not \(character) at character \(characterNumber)",
            value: EscapedText.quoted(bytes: bytes))
    }

    /// `shown` is the value as it appeared in the input, for the message.
    @inline(__always)
    static func speed(_ speed: Double, shown: @autoclosure () -> String) throws(Rejection) -> Double {
        guard speedRange.contains(speed) else {
            throw Rejection(code: .outOfRange, field: "speed", rule: "must be between 0 and 1000 km/h", value: shown())
        }
        return speed + 0  // turns -0 into 0, so that the canonical form never says "-0"
    }

    /// `exact` is the time when it is representable; `approximateSeconds` classifies values that are
    /// not (a nanosecond epoch read as seconds overflows microseconds).
    @inline(__always)
    static func time(
        exact: Timestamp?, approximateSeconds: @autoclosure () -> Double, shown: @autoclosure () -> String,
        now: Timestamp
    ) throws(Rejection) -> Timestamp {
        let latest = now + allowedFutureSkew
        if let exact, exact >= earliestTime, exact <= latest { return exact }
        let approximateSeconds = approximateSeconds()
        if approximateSeconds < earliestTime.seconds {
            throw Rejection(
                code: .timeTooEarly, field: "ts", rule: "must not be before \(earliestTime.rfc3339)", value: shown())
        }
        for (unit, perSecond) in [("milliseconds", 1e3), ("microseconds", 1e6), ("nanoseconds", 1e9)] {
            let seconds = approximateSeconds / perSecond
            if seconds >= earliestTime.seconds, seconds <= latest.seconds, let converted = Timestamp(seconds: seconds) {
                throw Rejection(
                    code: .timeInWrongUnit, field: "ts",
                    rule: "looks like \(unit) since the epoch, send seconds: \(CanonicalJSON.epochSeconds(converted))",
                    value: shown())
            }
        }
        throw Rejection(
            code: .timeInFuture, field: "ts",
            rule: "must not be more than \(allowedFutureSkew.microseconds / 60_000_000) minutes in the future; "
                + "it is now \(now.rfc3339)",
            value: shown())
    }

    static func epochTime(
        _ number: DecimalNumber, source: UnsafeRawBufferPointer, now: Timestamp
    ) throws(Rejection) -> Timestamp {
        let exact = number.microseconds(source: source).map(Timestamp.init(microseconds:))
        return try time(
            exact: exact, approximateSeconds: number.doubleValue(source: source) ?? .infinity,
            shown: EscapedText.escape(bytes: source), now: now)
    }

    /// A string `ts`: only RFC 3339 (a quoted number is not guessed at).
    static func textTime(_ text: UnsafeRawBufferPointer, now: Timestamp) throws(Rejection) -> Timestamp {
        guard let parsed = Timestamp.parseRFC3339(text) else {
            throw Rejection(code: .wrongType, field: "ts", rule: timeForms, value: EscapedText.quoted(bytes: text))
        }
        return try time(
            exact: parsed, approximateSeconds: parsed.seconds, shown: EscapedText.quoted(bytes: text), now: now)
    }
}

extension Reading {
    /// A sensor id given on its own (a command-line or query parameter), checked against the contract's rule.
    package static func validatedSensorID(_ text: String) throws(Rejection) -> String {
        try Array(text.utf8).withBytes { bytes throws(Rejection) in try ReadingRules.sensorID(bytes) }
    }
}
