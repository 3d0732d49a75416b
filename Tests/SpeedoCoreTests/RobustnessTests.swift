import Testing

@testable import SpeedoCore

/// Hostile input must produce rejections, never crashes, hangs, invalid readings or unescaped output.
/// Bounded by the number of lines checked (with a generous deadline) so that it runs in every `make test`;
/// `SPEEDO_FUZZ_SEED=<seed>` replays a failing run.
@Suite struct RobustnessTests {
    static let validLines = [
        #"{"sensor_id":"sensor-1","speed":42,"ts":1700000000}"#,
        #"{"ts":"2023-11-14T22:13:20.5+01:00","speed":88.25,"sensor_id":"a:b/c","extra":{"n":[1,2,{"x":null}]}}"#,
        #"{"sensor_id":"s\u002D1","speed":1e2,"note":"\ud83d\ude00 \"quoted\""}"#,
        "sensor-1,42,1700000000",
        #""s2", 13.5 ,"2023-11-14T22:13:20Z""#,
        "sensor_id,speed,ts",
    ]

    static let interestingBytes =
        Array(#"{"[]\,:-.0123456789eE+tfn "#.utf8) + [0x00, 0x0A, 0x0D, 0x09, 0x80, 0xC3, 0xE2, 0xEF, 0xBB, 0xBF, 0xFF]

    static func mutate(_ line: [UInt8], using generator: inout SplitMix64) -> [UInt8] {
        var bytes = line
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<8, using: &generator) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1:
                bytes = Array(bytes.prefix(position))
            case 2:
                bytes.insert(interestingBytes.randomElement(using: &generator)!, at: position)
            case 3:
                let digits = String(repeating: "9", count: Int.random(in: 16...400, using: &generator))
                bytes.insert(contentsOf: Array(digits.utf8), at: position)
            case 4:
                let depth = Int.random(in: 1...200, using: &generator)
                let opener = Bool.random(using: &generator) ? "[" : #"{"k":"#
                bytes.insert(contentsOf: Array(String(repeating: opener, count: depth).utf8), at: position)
            case 5:
                bytes.insert(
                    contentsOf: Array(#"\u"#.utf8)
                        + Array(["d800", "DBFF", "dc00", "00", "zz"].randomElement(using: &generator)!.utf8),
                    at: position)
            case 6 where !bytes.isEmpty:
                bytes.remove(at: position)
            default:
                bytes.insert(
                    contentsOf: Array(
                        ["1e999999999", "-0.0e-400", "1" + String(repeating: "0", count: 30), "\"\\\"", "\u{202E}"]
                            .randomElement(using: &generator)!.utf8), at: position)
            }
        }
        return bytes
    }

    static func randomInput(using generator: inout SplitMix64) -> [UInt8] {
        var input: [UInt8] = Bool.random(using: &generator) ? [0xEF, 0xBB, 0xBF] : []
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            let line: [UInt8] =
                switch Int.random(in: 0..<10, using: &generator) {
                case 0:
                    (0..<Int.random(in: 0...80, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    }
                case 1: Array(validLines.randomElement(using: &generator)!.utf8)
                default: mutate(Array(validLines.randomElement(using: &generator)!.utf8), using: &generator)
                }
            input += line
            input += Bool.random(using: &generator) ? [0x0A] : [0x0D, 0x0A]
        }
        if Bool.random(using: &generator) { input.removeLast() }
        return input
    }

    static let forbiddenInOutput: [ClosedRange<UInt32>] = [
        0x00...0x1F, 0x7F...0x9F, 0x200B...0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF...0xFEFF,
    ]

    static let sensorIDAlphabet = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-".utf8)

    static func isForbiddenInOutput(_ scalar: Unicode.Scalar) -> Bool {
        forbiddenInOutput.contains { $0.contains(scalar.value) }
    }

    static func problems(with outcome: LineOutcome, line: [UInt8]) -> String? {
        switch outcome {
        case .skipped:
            return nil
        case .rejected(let rejection):
            let text = rejection.description
            if text.unicodeScalars.contains(where: isForbiddenInOutput) {
                return "unescaped output: \(EscapedText.escape(text, limit: 400))"
            }
            if text.count > 600 { return "overlong message (\(text.count) characters)" }
            return nil
        case .reading(let reading):
            let idIsValid =
                (1...64).contains(reading.sensorID.utf8.count)
                && reading.sensorID.utf8.allSatisfy(sensorIDAlphabet.contains)
            let timeIsValid =
                reading.timestamp >= ReadingRules.earliestTime
                && reading.timestamp <= testNow + ReadingRules.allowedFutureSkew
            guard idIsValid, (0...1000).contains(reading.speed), timeIsValid else {
                return "invalid reading accepted: \(reading) from \(EscapedText.escape(bytes: line, limit: 200))"
            }
            let canonical = CanonicalJSON.encode(reading)
            guard ReadingDecoder.decode(value: canonical, now: testNow) == .success(reading) else {
                return "canonical form does not round-trip: \(String(decoding: canonical, as: UTF8.self))"
            }
            return nil
        }
    }

    @Test func noInputCrashesOrEscapesTheRules() {
        let seed = SplitMix64.seedFromEnvironment()
        print("RobustnessTests seed: \(seed) (replay with SPEEDO_FUZZ_SEED=\(seed))")
        var generator = SplitMix64(seed: seed)
        let clock = ContinuousClock()
        // Bounded by work, not by time, so a busy machine does not fail it; the deadline only stops a
        // pathologically slow decoder from hanging the suite (and then the line count below fails).
        let deadline = clock.now + .seconds(60)
        let linesWanted = 15_000
        var problems: [String] = []
        var linesChecked = 0
        var readings = 0
        for iteration in 0..<50_000 {
            if linesChecked >= linesWanted || (iteration % 256 == 0 && clock.now > deadline) { break }
            let input = Self.randomInput(using: &generator)
            var splitter = LineSplitter(maximumLineLength: Int.random(in: 16...4096, using: &generator))
            var decoders = [ReadingDecoder(), ReadingDecoder(format: .ndjson), ReadingDecoder(format: .csv)]
            var lineNumbers: [Int] = []
            let check = { (line: LineSplitter.Line) in
                lineNumbers.append(line.number)
                let bytes = Array(line.bytes)
                for index in decoders.indices {
                    let outcome = decoders[index].decode(line, now: testNow)
                    if case .reading = outcome { readings += 1 }
                    if let problem = Self.problems(with: outcome, line: bytes) { problems.append(problem) }
                }
                if case .success(let reading) = ReadingDecoder.decode(value: bytes, now: testNow),
                    let problem = Self.problems(with: .reading(reading), line: bytes)
                {
                    problems.append(problem)
                }
                linesChecked += 1
            }
            var start = 0
            while start < input.count {
                let end = min(input.count, start + Int.random(in: 1...64, using: &generator))
                input[start..<end].withUnsafeBytes { splitter.feed($0, check) }
                start = end
            }
            splitter.finish(check)
            // The same lines as the elements of an HTTP array body.
            let arrayBody =
                [UInt8(ascii: "[")] + input.map { $0 == 0x0A ? UInt8(ascii: ",") : $0 } + [UInt8(ascii: "]")]
            if case .success(let elements) = arrayBody.withUnsafeBytes({
                ReadingDecoder.decodeArray(value: $0, now: testNow)
            }) {
                for case .success(let reading) in elements {
                    if let problem = Self.problems(with: .reading(reading), line: arrayBody) {
                        problems.append(problem)
                    }
                }
            }
            let newlines = input.count { $0 == 0x0A }
            let expectedLines = newlines + (input.last == 0x0A || input.isEmpty || input == [0xEF, 0xBB, 0xBF] ? 0 : 1)
            if lineNumbers != (0..<expectedLines).map({ $0 + 1 }) {
                problems.append(
                    "line numbers \(lineNumbers) for \(expectedLines) lines in \(EscapedText.escape(bytes: input, limit: 200))"
                )
            }
            if problems.count > 10 { break }
        }
        print("RobustnessTests: \(linesChecked) lines checked, \(readings) readings accepted")
        #expect(problems.isEmpty, "seed \(seed) (SPEEDO_FUZZ_SEED=\(seed) to replay): \(problems.prefix(5))")
        #expect(linesChecked >= linesWanted, "seed \(seed): only \(linesChecked) lines checked within the deadline")
        #expect(readings > 0, "seed \(seed): the generator never produced a valid line")
    }

    @Test func pathologicalLinesAreRejectedQuickly() {
        let lines: [String] = [
            String(repeating: "[", count: 100_000),
            #"{"a":"# + String(repeating: "[", count: 100_000),
            #"{"sensor_id":"s","speed":1"# + String(repeating: "0", count: 100_000) + "}",
            #"{"sensor_id":"s","speed":1e"# + String(repeating: "9", count: 100_000) + "}",
            #"{"sensor_id":""# + String(repeating: #"\u00e9"#, count: 20_000) + #"","speed":1}"#,
            String(repeating: #""a""b","#, count: 20_000),
        ]
        for line in lines {
            for format in InputFormat.allCases {
                let outcome = decodeLine(line, format: format)
                #expect(outcome.rejectionText != nil)
                #expect((outcome.rejectionText?.count ?? 0) < 300)
            }
        }
    }
}
