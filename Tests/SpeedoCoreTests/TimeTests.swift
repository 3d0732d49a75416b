import Testing

@testable import SpeedoCore

@Suite struct TimeTests {
    // Known instants (epoch seconds ↔ UTC calendar), independent of our arithmetic.
    static let knownInstants: [(microseconds: Int64, text: String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (-1_000_000, "1969-12-31T23:59:59Z"),
        (1_700_000_000_000_000, "2023-11-14T22:13:20Z"),
        (1_700_000_000_500_000, "2023-11-14T22:13:20.5Z"),
        (1_700_000_000_123_456, "2023-11-14T22:13:20.123456Z"),
        (1_700_000_000_000_001, "2023-11-14T22:13:20.000001Z"),
        (946_684_800_000_000, "2000-01-01T00:00:00Z"),
        (951_782_400_000_000, "2000-02-29T00:00:00Z"),
        (1_714_564_800_000_000, "2024-05-01T12:00:00Z"),
        (4_102_444_800_000_000, "2100-01-01T00:00:00Z"),
        (253_402_300_799_000_000, "9999-12-31T23:59:59Z"),
    ]

    @Test(arguments: knownInstants)
    func formatsAndParsesRFC3339(microseconds: Int64, text: String) {
        #expect(Timestamp(microseconds: microseconds).rfc3339 == text)
        #expect(Timestamp(rfc3339: text) == Timestamp(microseconds: microseconds))
    }

    static let equivalentSpellings: [(text: String, microseconds: Int64)] = [
        ("2023-11-15T00:13:20+02:00", 1_700_000_000_000_000),
        ("2023-11-14T17:13:20-05:00", 1_700_000_000_000_000),
        ("2023-11-14t22:13:20z", 1_700_000_000_000_000),
        ("2023-11-14 22:13:20Z", 1_700_000_000_000_000),
        ("2023-11-14T22:13:20.1234565Z", 1_700_000_000_123_457),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123_457),
        ("2023-11-14T22:13:20.9999996Z", 1_700_000_001_000_000),
        ("2023-11-14T22:13:20.1+00:00", 1_700_000_000_100_000),
    ]

    @Test(arguments: equivalentSpellings)
    func parsesOffsetsCaseAndFractions(text: String, microseconds: Int64) {
        #expect(Timestamp(rfc3339: text)?.microseconds == microseconds)
    }

    @Test(arguments: [
        "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-00-10T00:00:00Z", "2023-11-31T00:00:00Z",
        "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:60Z", "2023-11-14T22:13:20",
        "2023-11-14T22:13:20.Z", "2023-11-14T22:13:20.1234567890Z", "2023-11-14T22:13:20+0200",
        "2023-11-14", " 2023-11-14T22:13:20Z", "2023-11-14T22:13:20Zx", "2023-11-14X22:13:20Z", "",
        "23-11-14T22:13:20Z",
    ])
    func rejectsMalformedRFC3339(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func convertsSecondsWithMicrosecondRounding() {
        #expect(Timestamp(seconds: 1_700_000_000.1234567)?.microseconds == 1_700_000_000_123_457)
        #expect(Timestamp(seconds: -0.5)?.microseconds == -500_000)
        #expect(Timestamp(seconds: .nan) == nil)
        #expect(Timestamp(seconds: .infinity) == nil)
        #expect(Timestamp(seconds: 1e300) == nil)
        let instant = Timestamp(microseconds: 1_700_000_000_250_000)
        #expect(instant.seconds == 1_700_000_000.25)
        #expect(instant.milliseconds == 1_700_000_000_250)
        #expect(Timestamp(microseconds: -1).milliseconds == -1)
    }

    static let spans: [(text: String, microseconds: Int64)] = [
        ("90s", 90_000_000), ("15m", 900_000_000), ("1h", 3_600_000_000), ("7d", 604_800_000_000),
        ("500ms", 500_000), ("2w", 1_209_600_000_000), ("1h30m", 5_400_000_000), ("1.5h", 5_400_000_000),
        ("1.1h", 3_960_000_000), ("0s", 0), ("250us", 250), ("1m30s500ms", 90_500_000), ("0.5s", 500_000),
    ]

    @Test(arguments: spans)
    func parsesDurations(text: String, microseconds: Int64) throws {
        #expect(try TimeSpan.parse(text).microseconds == microseconds)
    }

    @Test(arguments: ["", "-5m", "5", "5x", "h", "1.h", ".5h", "1h 30m", "1H", "1..5h", "5 m"])
    func rejectsMalformedDurations(text: String) {
        #expect(throws: TimeExpressionError(code: .invalidDuration, input: text)) { try TimeSpan.parse(text) }
    }

    /// Past Int64 microseconds a duration saturates, for the option's range check to refuse by name.
    @Test(arguments: ["99999999999999w", "99999999999d", "1d99999999999999h"])
    func overlongDurationsSaturate(text: String) throws {
        #expect(try TimeSpan.parse(text).microseconds == .max)
    }

    @Test func durationErrorTeachesTheSyntax() {
        #expect(
            TimeExpressionError(code: .invalidDuration, input: "5x").description
                == #"invalid duration "5x": use a number and a unit (500ms, 90s, 15m, 1h, 7d, 2w), "#
                + "parts may be combined (1h30m) or fractional (1.5h)")
    }

    static let renderedSpans: [(microseconds: Int64, text: String)] = [
        (5_400_000_000, "1h30m"), (604_800_000_000, "7d"), (1_209_600_000_000, "14d"), (1_500_000, "1s500ms"),
        (0, "0s"), (1, "1us"), (90_000_000, "1m30s"), (-60_000_000, "-1m"),
    ]

    @Test(arguments: renderedSpans)
    func rendersDurationsCompactly(microseconds: Int64, text: String) throws {
        let span = TimeSpan(microseconds: microseconds)
        #expect(span.description == text)
        if microseconds >= 0 { #expect(try TimeSpan.parse(text) == span) }
    }

    static let expressions: [(text: String, microseconds: Int64)] = [
        ("90s", 1_800_000_000_000_000 - 90_000_000),
        ("1h", 1_800_000_000_000_000 - 3_600_000_000),
        ("now", 1_800_000_000_000_000),
        ("  NOW ", 1_800_000_000_000_000),
        ("@1700000000", 1_700_000_000_000_000),
        ("@1700000000.25", 1_700_000_000_250_000),
        ("@1700000000000ms", 1_700_000_000_000_000),
        ("@1700000000250ms", 1_700_000_000_250_000),
        (" @99999999999 ", 99_999_999_999_000_000),
        ("2024-05-01T12:00:00Z", 1_714_564_800_000_000),
        ("2024-05-01T14:00:00+02:00", 1_714_564_800_000_000),
    ]

    @Test(arguments: expressions)
    func parsesTimeExpressions(text: String, microseconds: Int64) throws {
        #expect(try TimeExpression.parse(text, now: testNow).microseconds == microseconds)
    }

    @Test(arguments: ["yesterday", "@abc", "@", "@ms", "@12h", "2024-13-01T00:00:00Z", "", "-1h", "2024-05-01"])
    func rejectsMalformedTimeExpressions(text: String) {
        #expect(throws: TimeExpressionError(code: .invalidTime, input: text)) {
            try TimeExpression.parse(text, now: testNow)
        }
    }

    /// A Kafka timestamp (milliseconds, as kcat and kafkactl print them) given as `@EPOCH` would land tens of
    /// thousands of years ahead: refused, naming the unit and both ways to write it.
    @Test(arguments: [
        ("@1700000000000", "milliseconds", "@1700000000 (seconds) or @1700000000000ms (milliseconds)"),
        ("@1700000000123", "milliseconds", "@1700000000.123 (seconds) or @1700000000123ms (milliseconds)"),
        ("@1700000000000000", "microseconds", "@1700000000 (seconds) or @1700000000000ms (milliseconds)"),
        ("@1700000000000000000", "nanoseconds", "@1700000000 (seconds) or @1700000000000ms (milliseconds)"),
    ])
    func epochsInAFinerUnitAreNamed(text: String, unit: String, advice: String) {
        #expect(throws: TimeExpressionError(code: .epochInWrongUnit, input: text)) {
            try TimeExpression.parse(text, now: testNow)
        }
        #expect(
            TimeExpressionError(code: .epochInWrongUnit, input: text).description
                == "invalid time \"\(text)\": looks like \(unit) since the epoch, which @ reads as seconds; write \(advice)")
    }

    @Test func timeErrorTeachesTheForms() {
        #expect(
            TimeExpressionError(code: .invalidTime, input: "yesterday").description
                == #"invalid time "yesterday": use a duration back from now (90s, 15m, 1h, 7d), "#
                + "an RFC 3339 time (2024-05-01T12:00:00Z), @EPOCH seconds or @EPOCHms milliseconds")
        #expect(
            TimeExpressionError(code: .invalidTime, input: "\u{1B}[2J").description.hasPrefix(
                #"invalid time "\u{1B}[2J":"#))
    }

    @Test func civilDateRoundTripsEveryDayOverFourCenturies() {
        var expected = CivilDate(year: 1900, month: 1, day: 1)
        let start = expected.daysSinceEpoch
        #expect(start == -25_567)
        var mismatches: [Int64] = []
        for day in start..<(start + 146_097) {
            if CivilDate(daysSinceEpoch: day) != expected || expected.daysSinceEpoch != day { mismatches.append(day) }
            expected.day += 1
            if expected.day > CivilDate.daysIn(month: expected.month, year: expected.year) {
                expected.day = 1
                expected.month += 1
                if expected.month > 12 {
                    expected.month = 1
                    expected.year += 1
                }
            }
        }
        #expect(mismatches.isEmpty)
        #expect(expected == CivilDate(year: 2300, month: 1, day: 1))
    }
}
