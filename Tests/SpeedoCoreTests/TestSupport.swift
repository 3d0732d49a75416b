import Foundation

@testable import SpeedoCore

extension SplitMix64 {
    /// `SPEEDO_FUZZ_SEED` when set (to replay a failure), otherwise a fresh seed.
    static func seedFromEnvironment() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["SPEEDO_FUZZ_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64.max)
    }
}

/// 2027-01-15T08:00:00Z: the fixed "now" of the tests.
let testNow = Timestamp(microseconds: 1_800_000_000_000_000)

func decodeLines(_ lines: [String], format: InputFormat? = nil, now: Timestamp = testNow) -> [LineOutcome] {
    var decoder = ReadingDecoder(format: format)
    return lines.map { line in
        Array(line.utf8).withUnsafeBytes { decoder.decode(line: $0, now: now) }
    }
}

func decodeLine(_ line: String, format: InputFormat? = nil, now: Timestamp = testNow) -> LineOutcome {
    decodeLines([line], format: format, now: now)[0]
}

extension LineOutcome {
    var rejectionText: String? {
        if case .rejected(let rejection) = self { return rejection.description }
        return nil
    }

    var reading: Reading? {
        if case .reading(let reading) = self { return reading }
        return nil
    }
}

func seconds(_ value: Int64) -> Timestamp { Timestamp(microseconds: value * 1_000_000) }
