/// A length of time with microsecond resolution, written like `90s`, `1h30m` or `1.5h`.
package struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var microseconds: Int64

    package init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    package static func milliseconds(_ milliseconds: Int64) -> TimeSpan { TimeSpan(microseconds: milliseconds * 1_000) }
    package static func seconds(_ seconds: Int64) -> TimeSpan { TimeSpan(microseconds: seconds * 1_000_000) }
    package static func hours(_ hours: Int64) -> TimeSpan { .seconds(hours * 3_600) }
    package static func days(_ days: Int64) -> TimeSpan { .seconds(days * 86_400) }

    package static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.microseconds < rhs.microseconds }

    package var seconds: Double { Double(microseconds) / 1_000_000 }

    package var duration: Duration { .microseconds(microseconds) }

    /// Units from largest to smallest; `w` parses but is rendered as days (`2w` → `14d`),
    /// which people read faster than weeks.
    private static let units: [(symbol: String, microseconds: Int64)] = [
        ("w", 604_800_000_000), ("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000),
        ("s", 1_000_000), ("ms", 1_000), ("us", 1),
    ]

    /// Compact form that `parse` reads back: `1h30m`, `7d`, `1s500ms`, `0s`.
    package var description: String {
        guard microseconds != 0 else { return "0s" }
        var remaining = microseconds.magnitude
        var text = microseconds < 0 ? "-" : ""
        for unit in Self.units.dropFirst() {
            let size = UInt64(unit.microseconds)
            guard remaining >= size else { continue }
            text += "\(remaining / size)\(unit.symbol)"
            remaining %= size
        }
        return text
    }

    /// Parses one or more `<number><unit>` parts (`500ms`, `90s`, `15m`, `1h`, `7d`, `2w`, `1h30m`, `1.5h`).
    /// Zero is accepted; callers that need a positive span check it themselves.
    package static func parse(_ text: String) throws(TimeExpressionError) -> TimeSpan {
        var text = text
        let result = text.withUTF8 { parseDuration(UnsafeRawBufferPointer($0)) }
        guard let result else { throw TimeExpressionError(code: .invalidDuration, input: text) }
        return result
    }

    static func parseDuration(_ bytes: UnsafeRawBufferPointer) -> TimeSpan? {
        var cursor = ByteCursor(bytes)
        guard !cursor.isAtEnd else { return nil }
        var total: Int64 = 0
        while !cursor.isAtEnd {
            // Exact decimal arithmetic (value × 10^-scale) so that `1.1h` is exactly 3,960 s.
            var value: Int64 = 0
            var scale = 0
            var digitCount = 0
            var seenPoint = false
            while let byte = cursor.peek() {
                if let digit = cursor.peekDigit() {
                    guard digitCount < 15 else { return nil }
                    value = value * 10 + Int64(digit)
                    digitCount += 1
                    if seenPoint { scale += 1 }
                } else if byte == UInt8(ascii: "."), !seenPoint, digitCount > 0 {
                    seenPoint = true
                } else {
                    break
                }
                cursor.advance()
            }
            guard digitCount > 0, bytes[cursor.position - 1] != UInt8(ascii: ".") else { return nil }
            let unitStart = cursor.position
            while let byte = cursor.peek(), byte | 0x20 >= UInt8(ascii: "a"), byte | 0x20 <= UInt8(ascii: "z") {
                cursor.advance()
            }
            let symbol = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[unitStart..<cursor.position]), as: UTF8.self)
            guard let unit = units.first(where: { $0.symbol == symbol }) else { return nil }
            var divisor: Int64 = 1
            for _ in 0..<scale { divisor *= 10 }
            // Beyond Int64 (about 292,000 years) the span saturates: it is a valid duration that every caller's
            // range refuses, with a message naming the option, rather than a puzzling "invalid duration".
            let (product, overflow) = value.multipliedReportingOverflow(by: unit.microseconds)
            let (whole, remainder) = product.quotientAndRemainder(dividingBy: divisor)
            let (sum, sumOverflow) = total.addingReportingOverflow(whole + (remainder * 2 >= divisor ? 1 : 0))
            total = overflow || sumOverflow ? .max : sum
        }
        return TimeSpan(microseconds: total)
    }
}

/// A `--since`/`--until` value: a duration back from now, an RFC 3339 time, `@EPOCH` seconds, `@EPOCHms`
/// milliseconds (Kafka's timestamps, as kcat prints them), or `now`.
package enum TimeExpression {
    /// Seconds beyond this (the year 5138) are taken for an epoch in a finer unit rather than a time anyone means.
    private static let largestEpochSeconds = 1e11

    package static func parse(_ text: String, now: Timestamp) throws(TimeExpressionError) -> Timestamp {
        var trimmed = text.trimmingASCIISpaces()
        if trimmed.lowercased() == "now" { return now }
        let result = trimmed.withUTF8 { utf8 -> Result<Timestamp, TimeExpressionError> in
            let bytes = UnsafeRawBufferPointer(utf8)
            if bytes.first == UInt8(ascii: "@") { return epoch(UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), text) }
            let time = bytes.count >= 10 && bytes[4] == UInt8(ascii: "-")
                ? Timestamp.parseRFC3339(bytes)
                : TimeSpan.parseDuration(bytes).map { now - $0 }
            return time.map { .success($0) } ?? .failure(TimeExpressionError(code: .invalidTime, input: text))
        }
        return try result.get()
    }

    /// `1700000000`, `1700000000.25` (seconds) or `1700000000000ms`; a number of seconds so large that it can only be
    /// a finer unit is refused, naming the unit it looks like and how to write it.
    private static func epoch(_ bytes: UnsafeRawBufferPointer, _ text: String) -> Result<Timestamp, TimeExpressionError> {
        let isMilliseconds = bytes.count > 2 && bytes[bytes.count - 2] == UInt8(ascii: "m")
            && bytes[bytes.count - 1] == UInt8(ascii: "s")
        let digits = isMilliseconds ? UnsafeRawBufferPointer(rebasing: bytes.dropLast(2)) : bytes
        guard let value = DecimalNumber.parse(digits)?.doubleValue(source: digits) else {
            return .failure(TimeExpressionError(code: .invalidTime, input: text))
        }
        let seconds = isMilliseconds ? value / 1e3 : value
        if !isMilliseconds, seconds > largestEpochSeconds {
            return .failure(TimeExpressionError(code: .epochInWrongUnit, input: text))
        }
        // A time outside 1970–9999 that can be represented is for the option to refuse, naming its range.
        guard let time = Timestamp(seconds: seconds) else {
            return .failure(TimeExpressionError(code: .invalidTime, input: text))
        }
        return .success(time)
    }

    /// For `.epochInWrongUnit`: the unit `@value` seems to be in, and the value in seconds.
    fileprivate static func likelyUnit(of value: Double) -> (unit: String, seconds: Double) {
        for (unit, perSecond) in [("milliseconds", 1e3), ("microseconds", 1e6)] where value / perSecond <= largestEpochSeconds {
            return (unit, value / perSecond)
        }
        return ("nanoseconds", value / 1e9)
    }
}

package struct TimeExpressionError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Code: Sendable {
        case invalidDuration
        case invalidTime
        /// `@EPOCH` too large for seconds: milliseconds (or finer) written without their unit.
        case epochInWrongUnit
    }

    package let code: Code
    /// What the user typed, unescaped; `description` escapes it.
    package let input: String

    package var description: String {
        let shown = EscapedText.quoted(input)
        switch code {
        case .invalidDuration:
            return "invalid duration \(shown): use a number and a unit (500ms, 90s, 15m, 1h, 7d, 2w), "
                + "parts may be combined (1h30m) or fractional (1.5h)"
        case .invalidTime:
            return "invalid time \(shown): use a duration back from now (90s, 15m, 1h, 7d), "
                + "an RFC 3339 time (2024-05-01T12:00:00Z), @EPOCH seconds or @EPOCHms milliseconds"
        case .epochInWrongUnit:
            let digits = input.trimmingASCIISpaces().dropFirst()
            let (unit, seconds) = TimeExpression.likelyUnit(of: Double(digits) ?? 0)
            let asSeconds = Timestamp(seconds: seconds).map { time in
                // Whole seconds without the ".0" canonical JSON gives them: the form users type.
                "@" + (time.microseconds % 1_000_000 == 0 ? String(time.microseconds / 1_000_000) : CanonicalJSON.epochSeconds(time))
            } ?? "@SECONDS"
            let asMilliseconds = Timestamp(seconds: seconds).map { "@\($0.milliseconds)ms" } ?? "@MILLISECONDSms"
            return "invalid time \(shown): looks like \(unit) since the epoch, which @ reads as seconds; "
                + "write \(asSeconds) (seconds) or \(asMilliseconds) (milliseconds)"
        }
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

/// A `Duration` as the number other APIs take: the one place that takes its components apart.
extension Duration {
    /// Seconds as a `Double`, for APIs that take a `TimeInterval`.
    package var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole microseconds, rounded down.
    package var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    /// Milliseconds for librdkafka's `int timeout_ms` and poll(2), rounded up so that a tiny positive timeout does not
    /// become 0 ("do not wait"), and never negative (-1 means "forever" to both).
    package var clampedMilliseconds: Int32 {
        if self <= .zero { return 0 }
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }
}
