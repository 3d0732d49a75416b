import Testing

@testable import SpeedoCore

@Suite struct DecoderTests {
    static let acceptedJSON: [(line: String, reading: Reading)] = [
        (
            #"{"sensor_id":"sensor-1","speed":42,"ts":1700000000}"#,
            Reading(sensorID: "sensor-1", speed: 42, timestamp: seconds(1_700_000_000))
        ),
        (
            #"{"ts":1700000000,"speed":42.5,"sensor_id":"s-1"}"#,
            Reading(sensorID: "s-1", speed: 42.5, timestamp: seconds(1_700_000_000))
        ),
        (" \t{ \"sensor_id\" : \"s1\" ,\r\n \"speed\" : 7 }  ", Reading(sensorID: "s1", speed: 7, timestamp: testNow)),
        (#"{"sensor_id":"s1","speed":7,"ts":null}"#, Reading(sensorID: "s1", speed: 7, timestamp: testNow)),
        (#"{"sensor_id":"s\u002D1","speed":1}"#, Reading(sensorID: "s-1", speed: 1, timestamp: testNow)),
        (#"{"sensor_id":"a\/b","speed":1}"#, Reading(sensorID: "a/b", speed: 1, timestamp: testNow)),
        (#"{"sens\u006Fr_id":"k","speed":1}"#, Reading(sensorID: "k", speed: 1, timestamp: testNow)),
        (
            #"{"meta":{"a":[1,{"b":null,"c":[true,false]}],"d":"}\"]"},"sensor_id":"s1","x":"\ud83d\ude00","speed":1,"e":[[],{}]}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: testNow)
        ),
        (#"{"sensor_id":"s1","speed":4.25e2}"#, Reading(sensorID: "s1", speed: 425, timestamp: testNow)),
        (#"{"sensor_id":"s1","speed":1E2}"#, Reading(sensorID: "s1", speed: 100, timestamp: testNow)),
        (#"{"sensor_id":"s1","speed":-0}"#, Reading(sensorID: "s1", speed: 0, timestamp: testNow)),
        (#"{"sensor_id":"s1","speed":0.1}"#, Reading(sensorID: "s1", speed: 0.1, timestamp: testNow)),
        (#"{"sensor_id":"s1","speed":123.456}"#, Reading(sensorID: "s1", speed: 123.456, timestamp: testNow)),
        (
            #"{"sensor_id":"s1","speed":42.00000000000000000001}"#,
            Reading(sensorID: "s1", speed: 42, timestamp: testNow)
        ),
        (
            #"{"sensor_id":"s1","speed":0.000000000000000000000000001}"#,
            Reading(sensorID: "s1", speed: 1e-27, timestamp: testNow)
        ),
        (
            #"{"sensor_id":"s1","speed":1,"ts":1700000000.1234567}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: Timestamp(microseconds: 1_700_000_000_123_457))
        ),
        (
            #"{"sensor_id":"s1","speed":1,"ts":17000000001234565e-7}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: Timestamp(microseconds: 1_700_000_000_123_457))
        ),
        (
            #"{"sensor_id":"s1","speed":1,"ts":1.7e9}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: seconds(1_700_000_000))
        ),
        (
            #"{"sensor_id":"s1","speed":1,"ts":"2023-11-15T00:13:20+02:00"}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: seconds(1_700_000_000))
        ),
        (
            #"{"sensor_id":"s1","speed":1,"ts":"2023-11-14T22:13:20\u005A"}"#,
            Reading(sensorID: "s1", speed: 1, timestamp: seconds(1_700_000_000))
        ),
    ]

    @Test(arguments: acceptedJSON)
    func decodesJSON(line: String, reading: Reading) {
        #expect(decodeLine(line, format: .ndjson) == .reading(reading))
    }

    @Test func numbersAreCorrectlyRoundedBeyondTheFastPath() {
        // Each needs more than 15 significant digits or a large exponent, so the slow path decides.
        let texts = ["123.45678901234567", "999.9999999999999999", "0.30000000000000004", "1.7976931348623157e-300"]
        for text in texts {
            let outcome = decodeLine(#"{"sensor_id":"s1","speed":\#(text)}"#)
            #expect(outcome.reading?.speed == Double(text), "\(text)")
        }
    }

    static let acceptedCSV: [(line: String, reading: Reading)] = [
        ("s1,42,1700000000", Reading(sensorID: "s1", speed: 42, timestamp: seconds(1_700_000_000))),
        ("s1,42", Reading(sensorID: "s1", speed: 42, timestamp: testNow)),
        ("s1,42,", Reading(sensorID: "s1", speed: 42, timestamp: testNow)),
        (
            "  s1 ,\t42.5 , 1700000000.5 ",
            Reading(sensorID: "s1", speed: 42.5, timestamp: Timestamp(microseconds: 1_700_000_000_500_000))
        ),
        (#""s1", "42" ,"2023-11-14T22:13:20Z""#, Reading(sensorID: "s1", speed: 42, timestamp: seconds(1_700_000_000))),
        (#""a:b/c",0,"""#, Reading(sensorID: "a:b/c", speed: 0, timestamp: testNow)),
    ]

    @Test(arguments: acceptedCSV)
    func decodesCSV(line: String, reading: Reading) {
        #expect(decodeLine(line, format: .csv) == .reading(reading))
    }

    @Test func csvHeaderIsSkippedOnlyAsTheFirstContentLine() {
        let outcomes = decodeLines(["", " Sensor_ID , SPEED ,Ts", "s1,1", "sensor_id,speed,ts"], format: .csv)
        #expect(outcomes[0] == .skipped)
        #expect(outcomes[1] == .skipped)
        #expect(outcomes[2] == .reading(Reading(sensorID: "s1", speed: 1, timestamp: testNow)))
        #expect(outcomes[3].rejectionText == #"speed: must be a number (got "speed")"#)
        #expect(
            decodeLines(["sensor_id,speed", "s2,2"], format: .csv).map(\.reading) == [
                nil, Reading(sensorID: "s2", speed: 2, timestamp: testNow),
            ])
    }

    @Test func formatIsDetectedFromTheFirstNonBlankLine() {
        var decoder = ReadingDecoder()
        #expect(decoder.format == nil)
        for (line, format) in [("", nil), ("   ", nil), (#" {"sensor_id":"s1","speed":1}"#, InputFormat.ndjson)] {
            _ = Array(line.utf8).withUnsafeBytes { decoder.decode(line: $0, now: testNow) }
            #expect(decoder.format == format)
        }
        // Once NDJSON, a CSV-looking line is a malformed object, not a silent switch of format.
        #expect(
            decodeLines([#"{"sensor_id":"s1","speed":1}"#, "s1,1"])[1].rejectionText
                == "line: not a JSON object (got s1,1)")
        #expect(
            decodeLines(["sensor_id,speed", "s1,1"]).map(\.reading) == [
                nil, Reading(sensorID: "s1", speed: 1, timestamp: testNow),
            ])
    }

    @Test func blankLinesAreSkippedInBothFormats() {
        for format in InputFormat.allCases {
            #expect(decodeLines(["", " \t ", "\r"], format: format) == [.skipped, .skipped, .skipped])
        }
    }

    @Test func recordValueIsDecodedAsJSONWhateverItLooksLike() {
        #expect(
            ReadingDecoder.decode(value: Array(#"{"sensor_id":"s1","speed":3,"ts":1700000000.5}"#.utf8), now: testNow)
                == .success(
                    Reading(sensorID: "s1", speed: 3, timestamp: Timestamp(microseconds: 1_700_000_000_500_000))))
        #expect(
            ReadingDecoder.decode(value: Array("s1,3".utf8), now: testNow)
                == .failure(Rejection(code: .malformedLine, field: "line", rule: "not a JSON object", value: "s1,3")))
        #expect(
            ReadingDecoder.decode(value: [], now: testNow)
                == .failure(Rejection(code: .malformedLine, field: "line", rule: "not a JSON object", value: "")))
    }

    @Test func wholeStreamThroughSplitterAndDecoder() {
        let input = "\u{FEFF}sensor_id,speed,ts\r\ns1,10,1700000000\r\n\r\nbad id,1\r\ns2,20"
        var splitter = LineSplitter()
        var decoder = ReadingDecoder()
        var outcomes: [(Int, LineOutcome)] = []
        Array(input.utf8).withUnsafeBytes { bytes in
            splitter.feed(bytes) { outcomes.append(($0.number, decoder.decode($0, now: testNow))) }
            splitter.finish { outcomes.append(($0.number, decoder.decode($0, now: testNow))) }
        }
        #expect(outcomes.map(\.0) == [1, 2, 3, 4, 5])
        #expect(outcomes[0].1 == .skipped)
        #expect(outcomes[1].1 == .reading(Reading(sensorID: "s1", speed: 10, timestamp: seconds(1_700_000_000))))
        #expect(outcomes[2].1 == .skipped)
        #expect(outcomes[3].1.rejectionText?.hasPrefix("sensor_id: may only contain") == true)
        #expect(outcomes[4].1 == .reading(Reading(sensorID: "s2", speed: 20, timestamp: testNow)))
    }
}

@Suite struct EscapedTextTests {
    static let cases: [(bytes: [UInt8], escaped: String)] = [
        (Array("plain".utf8), "plain"),
        (Array("a\nb\tc\r".utf8), #"a\nb\tc\r"#),
        (Array("\u{1B}[31mred".utf8), #"\u{1B}[31mred"#),
        (Array("back\\slash".utf8), #"back\\slash"#),
        (Array("rtl\u{202E}txt\u{2066}".utf8), #"rtl\u{202E}txt\u{2066}"#),
        (Array("zero\u{200B}width\u{FEFF}".utf8), #"zero\u{200B}width\u{FEFF}"#),
        (Array("del\u{7F} c1\u{85}".utf8), #"del\u{7F} c1\u{85}"#),
        ([0x61, 0xFF, 0x62, 0xC3], #"a\xFFb\xC3"#),
        ([0xED, 0xA0, 0x80], #"\xED\xA0\x80"#),  // an encoded surrogate is not UTF-8
        ([0xC0, 0xAF], #"\xC0\xAF"#),  // overlong "/"
        (Array("café ✓ 😀".utf8), "café ✓ 😀"),
        // Other invisible characters: soft hyphen, a tag, a line separator, private use, unassigned.
        (Array("a\u{AD}\u{E0041}\u{2029}\u{E000}\u{378}b".utf8), #"a\u{AD}\u{E0041}\u{2029}\u{E000}\u{378}b"#),
        (Array(String(repeating: "x", count: 41).utf8), String(repeating: "x", count: 40) + "…"),
        (Array(String(repeating: "x", count: 40).utf8), String(repeating: "x", count: 40)),
    ]

    @Test(arguments: cases)
    func escapesUntrustedText(bytes: [UInt8], escaped: String) {
        #expect(EscapedText.escape(bytes: bytes) == escaped)
    }

    @Test func quotedFormEscapesQuotes() {
        #expect(EscapedText.quoted("say \"hi\"") == #""say \"hi\"""#)
        #expect(EscapedText.escape("say \"hi\"") == #"say "hi""#)
        #expect(EscapedText.quoted("abcdef", limit: 3) == #""abc…""#)
    }

    @Test func asciiOnlyEscapesEveryNonASCIICharacter() {
        #expect(EscapedText.escape("宽 é\u{1B}", asciiOnly: true) == #"\u{5BBD} \u{E9}\u{1B}"#)
        #expect(EscapedText.escape("宽 é", asciiOnly: false) == "宽 é")
    }
}

@Suite struct ProgrammaticReadingTests {
    @Test func arrayBodyYieldsOneResultPerElement() throws {
        let body = #" [ {"sensor_id":"a","speed":1,"ts":1700000000}, {"sensor_id":"b","speed":"2"}, 3 ] "#
        let results = try Array(body.utf8).withUnsafeBytes { ReadingDecoder.decodeArray(value: $0, now: testNow) }.get()
        #expect(results.count == 3)
        #expect(results[0] == .success(Reading(sensorID: "a", speed: 1, timestamp: seconds(1_700_000_000))))
        #expect(
            results[1]
                == .failure(
                    Rejection(
                        code: .wrongType, field: "speed", rule: "must be a JSON number, not a string", value: #""2""#)))
        #expect(
            results[2]
                == .failure(Rejection(code: .malformedLine, field: "line", rule: "not a JSON object", value: "3")))
        let empty = try Array("[]".utf8).withUnsafeBytes { ReadingDecoder.decodeArray(value: $0, now: testNow) }.get()
        #expect(empty.isEmpty)
    }

    @Test(arguments: [
        (#"{"sensor_id":"a","speed":1}"#, #"line: not a JSON array (got {"sensor_id":"a","speed":1})"#),
        ("[1 2]", "line: expected ',' or ']' at column 4 (got [1 2])"),
        ("[1,", "line: unexpected end of line at column 4 (got [1,)"),
        ("[1] x", "line: unexpected text after the array at column 5 (got [1] x)"),
    ])
    func malformedArrayBodyIsOneRejection(body: String, message: String) {
        let result = Array(body.utf8).withUnsafeBytes { ReadingDecoder.decodeArray(value: $0, now: testNow) }
        guard case .failure(let rejection) = result else {
            Issue.record("expected a rejection, got \(result)")
            return
        }
        #expect(rejection.description == message)
    }

    @Test func readingsBuiltInCodeFollowTheSameRules() throws {
        #expect(
            try Reading.validated(sensorID: "sim-1", speed: 50.5, timestamp: seconds(1_700_000_000), now: testNow)
                == Reading(sensorID: "sim-1", speed: 50.5, timestamp: seconds(1_700_000_000)))
        let rejections: [(String, Double, Timestamp, String)] = [
            (
                "sim 1", 1, testNow,
                #"sensor_id: may only contain A-Z a-z 0-9 . _ : / -, not " " at character 4 (got "sim 1")"#
            ),
            ("sim-1", .nan, testNow, "speed: must be between 0 and 1000 km/h (got nan)"),
            ("sim-1", 1000.5, testNow, "speed: must be between 0 and 1000 km/h (got 1000.5)"),
            ("sim-1", 1, seconds(0), "ts: must not be before 2000-01-01T00:00:00Z (got 0.0)"),
        ]
        for (id, speed, timestamp, message) in rejections {
            #expect {
                _ = try Reading.validated(sensorID: id, speed: speed, timestamp: timestamp, now: testNow)
            } throws: { error in
                (error as? Rejection)?.description == message
            }
        }
    }
}
