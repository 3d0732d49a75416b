// speedo-bench: throughput of the hot paths of `speedo ingest`, measured in process, single-threaded.
//
//   speedo-bench decode [--lines N]    decode + validate N generated NDJSON and CSV lines (best of 5 runs)
//   speedo-bench gateway-clients …     many WebSocket clients of `speedo gateway`, measuring ts-to-receipt latency
//   speedo-bench follow-latency …      a follower of speed-latest, measuring event time to arrival
//   speedo-bench latest-states …       produces speed-latest records stamped as they are sent
//   speedo-bench page …                the gateway's page in headless Chromium: frames, long tasks, memory
//   speedo-bench screenshot …          a PNG of a page, or of a terminal capture

import SpeedoCore

#if canImport(Glibc)
    // The C `stderr` global is mutable state to Swift 6; writing a usage message to it is fine.
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    @preconcurrency import Darwin
#endif

struct BenchmarkUsageError: Error, CustomStringConvertible {
    let description: String
}

/// A benchmark's options, given as `--name value` pairs: any name it does not know, a name without a value, or a value
/// that is not a whole number where one is wanted is a usage error with the benchmark's `usage` line.
struct BenchmarkOptions {
    private var values: [String: String] = [:]
    private let usage: String

    init(_ arguments: ArraySlice<String>, known: Set<String>, usage: String) throws(BenchmarkUsageError) {
        self.usage = usage
        var remaining = arguments
        while let name = remaining.popFirst() {
            guard name.hasPrefix("--"), known.contains(String(name.dropFirst(2))), let value = remaining.popFirst()
            else { throw BenchmarkUsageError(description: usage) }
            values[String(name.dropFirst(2))] = value
        }
    }

    func text(_ name: String) -> String? { values[name] }

    /// The value of a required option.
    func required(_ name: String) throws(BenchmarkUsageError) -> String {
        guard let value = values[name], !value.isEmpty else { throw BenchmarkUsageError(description: usage) }
        return value
    }

    /// A whole number of at least `minimum`, or `fallback` when the option is not given.
    func number(_ name: String, default fallback: Int, minimum: Int = 1) throws(BenchmarkUsageError) -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text.filter { $0 != "_" }), value >= minimum else {
            throw BenchmarkUsageError(description: usage)
        }
        return value
    }
}

/// Realistic input: a few hundred sensors, speeds with one or two decimals, timestamps with
/// millisecond fractions, in the shape `speedo simulate` writes.
func generateInput(format: InputFormat, lines: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var output: [UInt8] = []
    output.reserveCapacity(lines * 72)
    if format == .csv { output += Array("sensor_id,speed,ts\n".utf8) }
    var milliseconds: Int64 = 1_700_000_000_000
    for index in 0..<lines {
        let sensor = "sensor-\(index % 500)"
        let speed = "\(Int.random(in: 0...180, using: &generator)).\(Int.random(in: 0...99, using: &generator))"
        milliseconds += Int64.random(in: 0...3, using: &generator)
        let ts = "\(milliseconds / 1000).\(String(milliseconds % 1000 + 1000).dropFirst())"
        let line =
            switch format {
            case .ndjson: #"{"sensor_id":"\#(sensor)","speed":\#(speed),"ts":\#(ts)}"#
            case .csv: "\(sensor),\(speed),\(ts)"
            }
        output += Array(line.utf8)
        output.append(UInt8(ascii: "\n"))
    }
    return output
}

/// Feeds the input in 64 KiB chunks, as `read(2)` would, through the splitter and the decoder.
func decodeAll(_ input: [UInt8], now: Timestamp) -> (readings: Int, checksum: Double) {
    var splitter = LineSplitter()
    var decoder = ReadingDecoder()
    var readings = 0
    var checksum = 0.0
    let consume = { (line: LineSplitter.Line) in
        if case .reading(let reading) = decoder.decode(line, now: now) {
            readings += 1
            checksum += reading.speed
        }
    }
    input.withUnsafeBytes { bytes in
        var start = 0
        while start < bytes.count {
            let end = min(start + 65_536, bytes.count)
            splitter.feed(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), consume)
            start = end
        }
        splitter.finish(consume)
    }
    return (readings, checksum)
}

func benchmarkDecoder(lines: Int) {
    let now = Timestamp(microseconds: 1_800_000_000_000_000)
    let clock = ContinuousClock()
    for format in InputFormat.allCases {
        let input = generateInput(format: format, lines: lines)
        var best = Duration.seconds(1_000_000)
        var readings = 0
        for _ in 0..<5 {
            var result = (readings: 0, checksum: 0.0)
            let elapsed = clock.measure { result = decodeAll(input, now: now) }
            readings = result.readings
            best = min(best, elapsed)
        }
        guard readings == lines else {
            print("decoder \(format.rawValue): only \(readings) of \(lines) lines were accepted")
            continue
        }
        let seconds = best.inSeconds
        let perSecond = Int((Double(lines) / seconds).rounded())
        print(
            "decoder \(format.rawValue): \(perSecond) readings/s (\(lines) lines in \((seconds * 1000).rounded() / 1000) s)"
        )
    }
}

func parseLineCount(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) -> Int {
    try BenchmarkOptions(arguments, known: ["lines"], usage: "usage: speedo-bench decode [--lines N]  (N > 0)")
        .number("lines", default: 1_000_000)
}

let arguments = CommandLine.arguments.dropFirst()
do {
    switch arguments.first {
    case "decode":
        benchmarkDecoder(lines: try parseLineCount(arguments.dropFirst()))
    case "gateway-clients":
        try GatewayClientsBenchmark(arguments.dropFirst()).run()
    case "latest-states":
        try LatestStatesGenerator(arguments.dropFirst()).run()
    case "follow-latency":
        try FollowLatencyBenchmark(arguments.dropFirst()).run()
    case "page":
        try await PageBenchmark(arguments.dropFirst()).run()
    case "screenshot":
        try await Screenshot(arguments.dropFirst()).run()
    default:
        throw BenchmarkUsageError(
            description: "usage: speedo-bench decode [--lines N] | gateway-clients [--url URL] [--clients N] [--seconds S] | latest-states --brokers B [--sensors N] [--rate HZ] [--seconds S] | follow-latency --brokers B [--seconds S] [--warmup S] | page --url URL [--seconds S] [--memory-seconds S] [--sensors N] | screenshot (--url URL | --ansi FILE) --out FILE")
    }
} catch let usage as BenchmarkUsageError {
    fputs("\(usage)\n", stderr)
    exit(64)
} catch {
    fputs("speedo-bench: \(error)\n", stderr)
    exit(69)
}
