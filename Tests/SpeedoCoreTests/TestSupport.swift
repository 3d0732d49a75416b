import Foundation

@testable import SpeedoCore

/// SplitMix64: tiny, fast, and the same sequence on every platform for a given seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }

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
