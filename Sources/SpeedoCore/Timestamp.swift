/// A point in time with microsecond resolution, counted from the Unix epoch (UTC).
///
/// Microseconds are what PostgreSQL `timestamptz` stores, so a reading survives the round trip
/// through Kafka and the database without drift.
package struct Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var microseconds: Int64

    package init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Rounds to the nearest microsecond; `nil` for non-finite values or values beyond ±200,000 years.
    package init?(seconds: Double) {
        guard seconds.isFinite, abs(seconds) < Self.maximumSeconds else { return nil }
        // Splitting first keeps the fraction exact: multiplying 1.7e9 s by 1e6 would lose the last bits.
        let whole = seconds.rounded(.down)
        let fraction = ((seconds - whole) * 1_000_000).rounded()
        self.microseconds = Int64(whole) * 1_000_000 + Int64(fraction)
    }

    package var milliseconds: Int64 { Self.floorDivide(microseconds, 1_000) }

    package var seconds: Double {
        let (whole, fraction) = Self.floorDivideWithRemainder(microseconds, 1_000_000)
        return Double(whole) + Double(fraction) / 1_000_000
    }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    package var description: String { rfc3339 }

    package static func + (lhs: Timestamp, rhs: TimeSpan) -> Timestamp {
        Timestamp(microseconds: lhs.microseconds &+ rhs.microseconds)
    }

    package static func - (lhs: Timestamp, rhs: TimeSpan) -> Timestamp {
        Timestamp(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    package static func - (lhs: Timestamp, rhs: Timestamp) -> TimeSpan {
        TimeSpan(microseconds: lhs.microseconds &- rhs.microseconds)
    }

    static let maximumSeconds = 6.3e12
    static let microsecondsPerDay: Int64 = 86_400_000_000

    /// The first UTC midnight after this instant: where the next daily partition of the history starts.
    package var nextUTCMidnight: Timestamp {
        Timestamp(microseconds: (Self.floorDivide(microseconds, Self.microsecondsPerDay) + 1) * Self.microsecondsPerDay)
    }

    static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        floorDivideWithRemainder(value, divisor).quotient
    }

    static func floorDivideWithRemainder(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }
}

// MARK: - RFC 3339

extension Timestamp {
    /// UTC, `2023-11-14T22:13:20Z`, with a fraction only when there is one (`.5`, `.123456`).
    package var rfc3339: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        appendRFC3339(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `rfc3339` appended as bytes: output paths (history CSV, replay) write one per row without a `String` each.
    package func appendRFC3339(to buffer: inout [UInt8]) {
        let (days, microsecondOfDay) = Self.floorDivideWithRemainder(microseconds, Self.microsecondsPerDay)
        let date = CivilDate(daysSinceEpoch: days)
        let secondOfDay = microsecondOfDay / 1_000_000
        if date.year < 0 { buffer.append(UInt8(ascii: "-")) }
        Self.appendPadded(abs(date.year), width: 4, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        Self.appendPadded(date.month, width: 2, to: &buffer)
        buffer.append(UInt8(ascii: "-"))
        Self.appendPadded(date.day, width: 2, to: &buffer)
        buffer.append(UInt8(ascii: "T"))
        Self.appendPadded(secondOfDay / 3600, width: 2, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        Self.appendPadded(secondOfDay / 60 % 60, width: 2, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        Self.appendPadded(secondOfDay % 60, width: 2, to: &buffer)
        var fraction = microsecondOfDay % 1_000_000
        if fraction != 0 {
            var width = 6
            while fraction % 10 == 0 {
                fraction /= 10
                width -= 1
            }
            buffer.append(UInt8(ascii: "."))
            Self.appendPadded(fraction, width: width, to: &buffer)
        }
        buffer.append(UInt8(ascii: "Z"))
    }

    @inline(__always)
    private static func appendPadded(_ value: some BinaryInteger, width: Int, to buffer: inout [UInt8]) {
        CanonicalJSON.appendDigits(of: UInt64(value), minimumCount: width, to: &buffer)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`, `z` and a space separator are accepted,
    /// a fraction of up to 9 digits is rounded to the microsecond.
    package init?(rfc3339 text: String) {
        var text = text
        let parsed = text.withUTF8 { Self.parseRFC3339(UnsafeRawBufferPointer($0)) }
        guard let parsed else { return nil }
        self = parsed
    }

    static func parseRFC3339(_ bytes: UnsafeRawBufferPointer) -> Timestamp? {
        var cursor = ByteCursor(bytes)
        guard let year = cursor.fixedDigits(4), cursor.take(UInt8(ascii: "-")),
            let month = cursor.fixedDigits(2), cursor.take(UInt8(ascii: "-")),
            let day = cursor.fixedDigits(2)
        else { return nil }
        guard let separator = cursor.next(),
            separator == UInt8(ascii: "T") || separator == UInt8(ascii: "t") || separator == UInt8(ascii: " ")
        else { return nil }
        guard let hour = cursor.fixedDigits(2), cursor.take(UInt8(ascii: ":")),
            let minute = cursor.fixedDigits(2), cursor.take(UInt8(ascii: ":")),
            let second = cursor.fixedDigits(2)
        else { return nil }
        guard (1...12).contains(month), (1...CivilDate.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }

        var fractionMicroseconds: Int64 = 0
        if cursor.take(UInt8(ascii: ".")) {
            var nanoseconds: Int64 = 0
            var digitCount = 0
            while let digit = cursor.peekDigit() {
                cursor.advance()
                digitCount += 1
                guard digitCount <= 9 else { return nil }
                nanoseconds = nanoseconds * 10 + Int64(digit)
            }
            guard digitCount > 0 else { return nil }
            for _ in digitCount..<9 { nanoseconds *= 10 }
            fractionMicroseconds = (nanoseconds + 500) / 1_000
        }

        var offsetSeconds: Int64 = 0
        guard let designator = cursor.next() else { return nil }
        switch designator {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            break
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard let offsetHours = cursor.fixedDigits(2), cursor.take(UInt8(ascii: ":")),
                let offsetMinutes = cursor.fixedDigits(2), offsetHours < 24, offsetMinutes < 60
            else { return nil }
            offsetSeconds = Int64(offsetHours * 3600 + offsetMinutes * 60)
            if designator == UInt8(ascii: "-") { offsetSeconds = -offsetSeconds }
        default:
            return nil
        }
        guard cursor.isAtEnd else { return nil }

        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let localSeconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Timestamp(microseconds: (localSeconds - offsetSeconds) * 1_000_000 + fractionMicroseconds)
    }
}

/// A proleptic Gregorian calendar date, converted to and from days since 1970-01-01 with
/// Howard Hinnant's era-based arithmetic (no tables, no Foundation).
struct CivilDate: Equatable {
    var year: Int
    var month: Int
    var day: Int
}

extension CivilDate {
    init(daysSinceEpoch: Int64) {
        let shifted = daysSinceEpoch + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
    }

    var daysSinceEpoch: Int64 {
        let adjustedYear = Int64(month <= 2 ? year - 1 : year)
        let era = (adjustedYear >= 0 ? adjustedYear : adjustedYear - 399) / 400
        let yearOfEra = adjustedYear - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Forward-only reading of ASCII bytes, shared by the time parsers.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { position >= bytes.count }

    func peek() -> UInt8? { position < bytes.count ? bytes[position] : nil }

    func peekDigit() -> Int? {
        guard let byte = peek(), byte &- UInt8(ascii: "0") < 10 else { return nil }
        return Int(byte &- UInt8(ascii: "0"))
    }

    mutating func advance() { position += 1 }

    mutating func next() -> UInt8? {
        defer { position += 1 }
        return peek()
    }

    mutating func take(_ expected: UInt8) -> Bool {
        guard peek() == expected else { return false }
        position += 1
        return true
    }

    mutating func fixedDigits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let digit = peekDigit() else { return nil }
            value = value * 10 + digit
            position += 1
        }
        return value
    }
}
