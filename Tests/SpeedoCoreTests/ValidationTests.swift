import Testing

@testable import SpeedoCore

/// One row per rule of the event contract and per structural error, with the exact message.
@Suite struct ValidationTests {
    static let jsonRejections: [(line: String, message: String)] = [
        // sensor_id
        (#"{"speed": 42}"#, "sensor_id: is required"),
        (#"{"sensor_id": 42, "speed": 1}"#, "sensor_id: must be a string (got 42)"),
        (#"{"sensor_id": null, "speed": 1}"#, "sensor_id: must be a string (got null)"),
        (#"{"sensor_id": "", "speed": 1}"#, #"sensor_id: must be 1 to 64 characters long (got "")"#),
        (
            #"{"sensor_id": "\#(String(repeating: "a", count: 65))", "speed": 1}"#,
            #"sensor_id: must be 1 to 64 characters long, not 65 (got "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…")"#
        ),
        (
            #"{"sensor_id": "bad id", "speed": 1}"#,
            #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not " " at character 4 (got "bad id")"#
        ),
        (
            #"{"sensor_id": "caf\u00e9", "speed": 1}"#,
            #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not "é" at character 4 (got "café")"#
        ),
        (
            #"{"sensor_id": "a\u202Eb", "speed": 1}"#,
            #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not "\u{202E}" at character 2 (got "a\u{202E}b")"#
        ),
        (
            #"{"sensor_id": "x\ny\u001b", "speed": 1}"#,
            #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not "\n" at character 2 (got "x\ny\u{1B}")"#
        ),
        (
            #"{"sensor_id": "\"quoted\"", "speed": 1}"#,
            #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not "\"" at character 1 (got "\"quoted\"")"#
        ),
        // speed
        (#"{"sensor_id": "s1"}"#, "speed: is required"),
        (#"{"sensor_id": "s1", "speed": "42"}"#, #"speed: must be a JSON number, not a string (got "42")"#),
        (#"{"sensor_id": "s1", "speed": true}"#, "speed: must be a JSON number (got true)"),
        (#"{"sensor_id": "s1", "speed": null}"#, "speed: must be a JSON number (got null)"),
        (#"{"sensor_id": "s1", "speed": {"kmh": 4}}"#, #"speed: must be a JSON number (got {"kmh": 4})"#),
        (#"{"sensor_id": "s1", "speed": [42]}"#, "speed: must be a JSON number (got [42])"),
        (#"{"sensor_id": "s1", "speed": 1200}"#, "speed: must be between 0 and 1000 km/h (got 1200)"),
        (#"{"sensor_id": "s1", "speed": 1000.0001}"#, "speed: must be between 0 and 1000 km/h (got 1000.0001)"),
        (#"{"sensor_id": "s1", "speed": -0.5}"#, "speed: must be between 0 and 1000 km/h (got -0.5)"),
        (#"{"sensor_id": "s1", "speed": 1e400}"#, "speed: must be between 0 and 1000 km/h (got 1e400)"),
        // ts
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": true}"#,
            "ts: must be epoch seconds or an RFC 3339 time such as 2024-05-01T12:00:00Z (got true)"
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": "yesterday"}"#,
            #"ts: must be epoch seconds or an RFC 3339 time such as 2024-05-01T12:00:00Z (got "yesterday")"#
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": "1700000000"}"#,
            #"ts: must be epoch seconds or an RFC 3339 time such as 2024-05-01T12:00:00Z (got "1700000000")"#
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 946684799}"#,
            "ts: must not be before 2000-01-01T00:00:00Z (got 946684799)"
        ),
        (#"{"sensor_id": "s1", "speed": 1, "ts": -1}"#, "ts: must not be before 2000-01-01T00:00:00Z (got -1)"),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": "1999-12-31T23:59:59Z"}"#,
            #"ts: must not be before 2000-01-01T00:00:00Z (got "1999-12-31T23:59:59Z")"#
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 1800000300.000001}"#,
            "ts: must not be more than 5 minutes in the future; it is now 2027-01-15T08:00:00Z (got 1800000300.000001)"
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": "2030-01-01T00:00:00Z"}"#,
            #"ts: must not be more than 5 minutes in the future; it is now 2027-01-15T08:00:00Z (got "2030-01-01T00:00:00Z")"#
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 1700000000123}"#,
            "ts: looks like milliseconds since the epoch, send seconds: 1700000000.123 (got 1700000000123)"
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 1700000000123456}"#,
            "ts: looks like microseconds since the epoch, send seconds: 1700000000.123456 (got 1700000000123456)"
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 1700000000123456789}"#,
            "ts: looks like nanoseconds since the epoch, send seconds: 1700000000.123457 (got 1700000000123456789)"
        ),
        (
            #"{"sensor_id": "s1", "speed": 1, "ts": 1e300}"#,
            "ts: must not be more than 5 minutes in the future; it is now 2027-01-15T08:00:00Z (got 1e300)"
        ),
        // duplicate keys are rejected: no silent "last one wins"
        (#"{"sensor_id": "a", "speed": 1, "speed": 2}"#, "speed: must appear only once"),
        (#"{"sensor_id": "a", "speed": 1, "sp\u0065ed": 2}"#, "speed: must appear only once"),
        (#"{"sensor_id": "a", "sensor_id": "b", "speed": 1}"#, "sensor_id: must appear only once"),
        (#"{"ts": 1, "sensor_id": "a", "speed": 1, "ts": 2}"#, "ts: must appear only once"),
        // structure
        ("[1,2]", "line: not a JSON object (got [1,2])"),
        (#""sensor_id""#, #"line: not a JSON object (got "sensor_id")"#),
        (#"{"sensor_id": "abc"#, #"line: unterminated string starting at column 15 (got {"sensor_id": "abc)"#),
        (#"{"speed" 1}"#, #"line: expected ':' after the key at column 10 (got {"speed" 1})"#),
        (#"{"speed":01}"#, #"line: invalid number at column 10 (got {"speed":01})"#),
        (#"{"speed":1.}"#, #"line: invalid number at column 10 (got {"speed":1.})"#),
        (#"{"speed":1e}"#, #"line: invalid number at column 10 (got {"speed":1e})"#),
        (#"{"speed":.5}"#, #"line: unexpected character at column 10 (got {"speed":.5})"#),
        (#"{"speed":NaN}"#, #"line: unexpected character at column 10 (got {"speed":NaN})"#),
        (#"{"speed":-Infinity}"#, #"line: invalid number at column 10 (got {"speed":-Infinity})"#),
        (#"{"speed":+1}"#, #"line: unexpected character at column 10 (got {"speed":+1})"#),
        (#"{"speed":tru}"#, #"line: unexpected character at column 10 (got {"speed":tru})"#),
        (#"{"a":1 "b":2}"#, #"line: expected ',' or '}' at column 8 (got {"a":1 "b":2})"#),
        (#"{"a":1,}"#, #"line: expected a string key at column 8 (got {"a":1,})"#),
        (#"{a:1}"#, #"line: expected a string key at column 2 (got {a:1})"#),
        (#"{"a":1} x"#, #"line: unexpected text after the object at column 9 (got {"a":1} x)"#),
        (#"{"a":1}{}"#, #"line: unexpected text after the object at column 8 (got {"a":1}{})"#),
        (#"{"a":[1,2}"#, #"line: expected ',' or ']' at column 10 (got {"a":[1,2})"#),
        (#"{"a":{"b":1]}"#, #"line: expected ',' or '}' at column 12 (got {"a":{"b":1]})"#),
        (#"{"a":"x\qy"}"#, #"line: invalid escape at column 8 (got {"a":"x\\qy"})"#),
        (#"{"a":"\u12G4"}"#, #"line: invalid \u escape at column 7 (got {"a":"\\u12G4"})"#),
        ("{\"a\":\"x\ty\"}", #"line: control character in string at column 8 (got {"a":"x\ty"})"#),
        (
            #"{"sensor_id":"\ud800","speed":1}"#,
            #"line: unpaired surrogate in \u escape at column 15 (got {"sensor_id":"\\ud800","speed":1})"#
        ),
        (
            #"{"sensor_id":"s1","speed":1"#,
            #"line: unexpected end of line at column 28 (got {"sensor_id":"s1","speed":1)"#
        ),
        (
            #"{"sensor_id":"s1","speed":"#,
            #"line: unexpected end of line at column 27 (got {"sensor_id":"s1","speed":)"#
        ),
        (
            #"{"a":"# + String(repeating: "[", count: 65) + String(repeating: "]", count: 65) + "}",
            "line: nested deeper than 64 levels at column 70 (got {\"a\":" + String(repeating: "[", count: 35) + "…)"
        ),
    ]

    @Test(arguments: jsonRejections)
    func jsonLineIsRejectedWithExactMessage(line: String, message: String) {
        #expect(decodeLine(line, format: .ndjson).rejectionText == message)
    }

    static let csvRejections: [(line: String, message: String)] = [
        ("s1", "line: expected 2 or 3 CSV columns (sensor_id,speed[,ts]), found 1 (got s1)"),
        (
            "s1,42,1700000000,x",
            "line: expected 2 or 3 CSV columns (sensor_id,speed[,ts]), found 4 (got s1,42,1700000000,x)"
        ),
        (#""s1,42"#, #"line: unterminated quoted field starting at column 1 (got "s1,42)"#),
        (#""s1"x,42"#, #"line: unexpected text after a quoted field at column 5 (got "s1"x,42)"#),
        (",42", "sensor_id: is required"),
        ("s1,", "speed: is required"),
        ("s 1,42", #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not " " at character 2 (got "s 1")"#),
        (#""a""b",42"#, #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not "\"" at character 2 (got "a\"b")"#),
        ("s1,fast", #"speed: must be a number (got "fast")"#),
        ("s1,0x10", #"speed: must be a number (got "0x10")"#),
        ("s1,1200", "speed: must be between 0 and 1000 km/h (got 1200)"),
        (
            "s1,42,yesterday",
            #"ts: must be epoch seconds or an RFC 3339 time such as 2024-05-01T12:00:00Z (got "yesterday")"#
        ),
        (
            "s1,42,1700000000123",
            "ts: looks like milliseconds since the epoch, send seconds: 1700000000.123 (got 1700000000123)"
        ),
        ("s1,42,12", "ts: must not be before 2000-01-01T00:00:00Z (got 12)"),
    ]

    @Test(arguments: csvRejections)
    func csvLineIsRejectedWithExactMessage(line: String, message: String) {
        #expect(decodeLine(line, format: .csv).rejectionText == message)
    }

    @Test func rejectionCarriesFieldRuleAndEscapedValue() {
        guard case .rejected(let rejection) = decodeLine(#"{"sensor_id": "s1", "speed": 1200}"#) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.field == "speed")
        #expect(rejection.code == .outOfRange)
        #expect(rejection.rule == "must be between 0 and 1000 km/h")
        #expect(rejection.value == "1200")
    }

    @Test func truncatedLineFromSplitterIsRejected() {
        var splitter = LineSplitter(maximumLineLength: 16)
        var decoder = ReadingDecoder()
        var outcomes: [LineOutcome] = []
        let input = Array(#"{"sensor_id":"s1","speed":1}"#.utf8) + [0x0A]
        input.withUnsafeBytes { chunk in
            splitter.feed(chunk) { outcomes.append(decoder.decode($0, now: testNow)) }
        }
        #expect(outcomes.map(\.rejectionText) == [#"line: is longer than 16 bytes (got {"sensor_id":"s1)"#])
    }

    @Test func readingAtTheBoundariesIsAccepted() {
        let lines = [
            #"{"sensor_id":"\#(String(repeating: "z", count: 64))","speed":0,"ts":946684800}"#,
            #"{"sensor_id":"A-Z.a_z:0/9","speed":1000,"ts":1800000300}"#,
        ]
        let readings = decodeLines(lines, format: .ndjson).map(\.reading)
        #expect(
            readings[0]
                == Reading(sensorID: String(repeating: "z", count: 64), speed: 0, timestamp: seconds(946_684_800)))
        #expect(readings[1] == Reading(sensorID: "A-Z.a_z:0/9", speed: 1000, timestamp: seconds(1_800_000_300)))
    }
}
