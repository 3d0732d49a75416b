import Testing

@testable import SpeedoCore

@Suite struct CanonicalJSONTests {
    static let encodings: [(reading: Reading, json: String)] = [
        (
            Reading(sensorID: "sensor-1", speed: 42, timestamp: Timestamp(microseconds: 1_700_000_000_500_000)),
            #"{"sensor_id":"sensor-1","speed":42,"ts":1700000000.5}"#
        ),
        (
            Reading(sensorID: "s", speed: 42.5, timestamp: seconds(1_700_000_000)),
            #"{"sensor_id":"s","speed":42.5,"ts":1700000000.0}"#
        ),
        (
            Reading(sensorID: "a:b/c", speed: 0.1, timestamp: Timestamp(microseconds: 1_700_000_000_000_001)),
            #"{"sensor_id":"a:b/c","speed":0.1,"ts":1700000000.000001}"#
        ),
        (
            Reading(sensorID: "x", speed: 999.99, timestamp: Timestamp(microseconds: 1_700_000_000_120_000)),
            #"{"sensor_id":"x","speed":999.99,"ts":1700000000.12}"#
        ),
        (
            Reading(sensorID: "x", speed: 1000, timestamp: Timestamp(microseconds: -1_500_000)),
            #"{"sensor_id":"x","speed":1000,"ts":-1.5}"#
        ),
        (
            Reading(sensorID: "q\"\\\n", speed: 0, timestamp: Timestamp(microseconds: 0)),
            #"{"sensor_id":"q\"\\\u000a","speed":0,"ts":0.0}"#
        ),
    ]

    @Test(arguments: encodings)
    func encodesCanonically(reading: Reading, json: String) {
        #expect(String(decoding: CanonicalJSON.encode(reading), as: UTF8.self) == json)
    }

    @Test func appendAddsToExistingBytes() {
        var buffer = Array("[".utf8)
        CanonicalJSON.append(Reading(sensorID: "s", speed: 1, timestamp: seconds(2_000_000_000)), to: &buffer)
        #expect(String(decoding: buffer, as: UTF8.self) == #"[{"sensor_id":"s","speed":1,"ts":2000000000.0}"#)
    }

    @Test func randomReadingsRoundTripExactly() {
        let seed = SplitMix64.seedFromEnvironment()
        var generator = SplitMix64(seed: seed)
        let alphabet = Array("ABCXYZabcxyz0189._:/-".utf8)
        let earliest = ReadingRules.earliestTime.microseconds
        var failures: [String] = []
        for round in 0..<20_000 {
            let idLength = Int.random(in: 1...64, using: &generator)
            let id = String(
                decoding: (0..<idLength).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            let speed: Double =
                switch round % 4 {
                case 0: Double(Int.random(in: 0...1000, using: &generator))
                case 1: Double(Int.random(in: 0...100_000, using: &generator)) / 100
                case 2: Double(bitPattern: UInt64.random(in: 0...Double(1000).bitPattern, using: &generator))
                default: Double.random(in: 0...1000, using: &generator)
                }
            let timestamp = Timestamp(
                microseconds: Int64.random(in: earliest...testNow.microseconds, using: &generator))
            let reading = Reading(sensorID: id, speed: speed, timestamp: timestamp)
            let encoded = CanonicalJSON.encode(reading)
            let decoded = ReadingDecoder.decode(value: encoded, now: testNow)
            if decoded != .success(reading) {
                failures.append("\(String(decoding: encoded, as: UTF8.self)) → \(decoded)")
            }
        }
        #expect(failures.isEmpty, "seed \(seed) (SPEEDO_FUZZ_SEED=\(seed) to replay): \(failures.prefix(5))")
    }

    /// Lines and record values laid out as speedo writes them take a shortcut through the decoder (`lineIsCanonical`
    /// says when a line can be published as it is). Every such line, and every near miss of the layout or the canonical
    /// number forms, must read exactly as the general path (`decodeJSON`) reads it, rejections included, as a line and
    /// as a record value; a line called canonical must be what encoding its reading writes; and what speedo writes
    /// with short speeds must be called so.
    @Test func linesInTheCanonicalLayoutReadAsTheGeneralPathReadsThem() {
        let seed = SplitMix64.seedFromEnvironment()
        var generator = SplitMix64(seed: seed)
        let alphabet = Array("ABCxyz0189._:/-".utf8)
        let earliest = ReadingRules.earliestTime.microseconds
        let nearMisses: [(String, String)] = [
            ("\"speed\":", "\"speed\": "), (",\"ts\":", ",\"ts\" :"), ("}", "}\r"), ("}", ",\"x\":1}"), ("}", "} "),
            ("{\"sensor_id\":\"", "{\"sensor_id\":\"\\u0041"), ("{\"sensor_id\":\"", "{\"sensor_id\":\"é"),
            ("{\"sensor_id\":\"", "{\"sensor_id\":\"" + String(repeating: "x", count: 64)),
            ("{\"sensor_id\":\"", "{\"sensor_id\":\"\","), (",\"ts\":", ",\"ts\":1"), (",\"ts\":", ",\"ts\":-"),
            (",\"ts\":", ",\"ts\":0"), (",\"ts\":1", ",\"ts\":9"), ("}", "0}"), ("}", "000}"), ("}", "e0}"), ("}", ".}"),
            (",\"ts\":", "0,\"ts\":"), (",\"ts\":", "1,\"ts\":"), (",\"ts\":", "e1,\"ts\":"), (",\"ts\":", ".,\"ts\":"),
            ("\"speed\":", "\"speed\":0"), ("\"speed\":", "\"speed\":-"), ("\"speed\":", "\"speed\":1"),
            ("\"speed\":", "\"speed\":\"1\","),
        ]
        var failures: [String] = []
        var canonicalCount = 0
        for round in 0..<40_000 {
            let id = String(
                decoding: (0..<Int.random(in: 1...20, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! },
                as: UTF8.self)
            let speed: Double =
                switch round % 4 {
                case 0: Double(Int.random(in: 0...1000, using: &generator))
                case 1: Double(Int.random(in: 0...1000 * [10, 100, 1000][round % 3], using: &generator)) / [10, 100, 1000][round % 3]
                case 2: Double(Int.random(in: 0...1_000_000_000, using: &generator)) / 1_000_000
                default: Double.random(in: 0...1000, using: &generator)
                }
            let timestamp = Timestamp(microseconds: Int64.random(in: earliest...testNow.microseconds, using: &generator))
            let written = String(decoding: CanonicalJSON.encode(Reading(sensorID: id, speed: speed, timestamp: timestamp)), as: UTF8.self)
            var line = written
            if round % 2 == 1, let (from, to) = nearMisses.randomElement(using: &generator), let range = line.range(of: from) {
                line.replaceSubrange(range, with: to)
            }
            var decoder = ReadingDecoder()
            let bytes = Array(line.utf8)
            let outcome = bytes.withUnsafeBytes { decoder.decode(line: $0, now: testNow) }
            var general = ReadingDecoder(format: .ndjson)
            let expected: LineOutcome = bytes.withUnsafeBytes { bytes in
                do throws(Rejection) { return .reading(try general.decodeJSON(bytes, now: testNow)) } catch { return .rejected(error) }
            }
            if outcome != expected { failures.append("\(line): \(outcome), the general path: \(expected)") }
            let asValue: LineOutcome = switch ReadingDecoder.decode(value: bytes, now: testNow) {
            case .success(let reading): .reading(reading)
            case .failure(let rejection): .rejected(rejection)
            }
            if asValue != expected { failures.append("\(line) as a record value: \(asValue), the general path: \(expected)") }
            if decoder.lineIsCanonical {
                canonicalCount += 1
                if case .reading(let reading) = outcome, CanonicalJSON.encode(reading) == bytes { continue }
                failures.append("\(line) called canonical, but its reading is written otherwise")
            } else if line == written, isShort(speedText: written.split(separator: ",")[1].dropFirst(#""speed":"#.count)) {
                failures.append("\(line), as speedo writes it, not called canonical")
            }
        }
        #expect(failures.isEmpty, "seed \(seed) (SPEEDO_FUZZ_SEED=\(seed) to replay): \(failures.prefix(5))")
        #expect(canonicalCount > 10_000, "the shortcut was taken \(canonicalCount) times")
    }

    /// A speed as speedo writes most: whole, or with up to six fraction digits, no exponent.
    private func isShort(speedText: Substring) -> Bool {
        !speedText.contains("e") && (speedText.split(separator: ".").dropFirst().first.map { $0.count <= 6 } ?? true)
    }

    /// The digit-by-digit fast path must print exactly what Swift's shortest round-trip `description` prints.
    @Test func numbersMatchSwiftsShortestForm() {
        let seed = SplitMix64.seedFromEnvironment()
        var generator = SplitMix64(seed: seed)
        var mismatches: [String] = []
        for round in 0..<50_000 {
            let speed: Double =
                switch round % 3 {
                case 0: Double(Int.random(in: 0...10_000_000, using: &generator)) / [10, 100, 1000, 10_000][round % 4]
                case 1: Double.random(in: 0...1000, using: &generator)
                default: Double(bitPattern: UInt64.random(in: 0...Double(1e9).bitPattern, using: &generator))
                }
            guard speed != speed.rounded() else { continue }
            var buffer: [UInt8] = []
            CanonicalJSON.appendNumber(speed, to: &buffer)
            let printed = String(decoding: buffer, as: UTF8.self)
            if printed != speed.description { mismatches.append("\(speed.description) printed as \(printed)") }
        }
        #expect(mismatches.isEmpty, "seed \(seed): \(mismatches.prefix(5))")
    }

    @Test func normalSpeedsHaveNoExponent() {
        for speed in [0.001, 0.5, 1.25, 88.8, 123.456, 999.999] {
            var buffer: [UInt8] = []
            CanonicalJSON.appendNumber(speed, to: &buffer)
            #expect(String(decoding: buffer, as: UTF8.self) == "\(speed)")
        }
    }
}
