@testable import SpeedoCore
import Testing

@Suite struct PercentileTests {
    /// `percentile_cont` by its definition: sort, then interpolate between the two neighbouring ranks.
    private static func bySorting(_ fraction: Double, _ values: [Double]) -> Double {
        let sorted = values.sorted()
        let rank = fraction * Double(sorted.count - 1)
        let (lower, upper) = (Int(rank.rounded(.down)), Int(rank.rounded(.up)))
        guard lower != upper else { return sorted[lower] }
        return sorted[lower] + (rank - Double(lower)) * (sorted[upper] - sorted[lower])
    }

    @Test func smallCasesByHand() {
        var one = [42.5]
        #expect(Percentile.continuous(0.95, of: &one) == 42.5)
        var two = [10.0, 0.0]
        #expect(Percentile.continuous(0.95, of: &two) == 9.5)
        var five = [5.0, 1.0, 4.0, 2.0, 3.0]
        #expect(Percentile.continuous(0.5, of: &five) == 3.0)
        #expect(Percentile.continuous(0, of: &five) == 1.0)
        #expect(Percentile.continuous(1, of: &five) == 5.0)
        #expect(Percentile.continuous(0.95, of: &five) == 4.8)
    }

    /// Random sizes and values with many repeats, and the shapes that defeat naive pivots (sorted, reversed,
    /// organ pipe, all equal): the same value, to the bit, as sorting.
    @Test func equalsSortingForAnyInput() {
        let seed = SplitMix64.seedFromEnvironment()
        var random = SplitMix64(seed: seed)
        for round in 0..<400 {
            let count = Int.random(in: 1...3_000, using: &random)
            let distinct = [2, 50, 100_000][round % 3]
            let values: [Double] = switch round % 6 {
            case 0: (0..<count).map(Double.init)
            case 1: (0..<count).reversed().map(Double.init)
            case 2: (0..<count).map { Double(min($0, count - $0)) }
            case 3: Array(repeating: 88.8, count: count)
            default: (0..<count).map { _ in Double(Int.random(in: 0..<distinct, using: &random)) / 10 }
            }
            for fraction in [0.0, 0.25, 0.5, 0.95, 0.999, 1.0] {
                var scratch = values
                let found = Percentile.continuous(fraction, of: &scratch)
                #expect(found == Self.bySorting(fraction, values), "seed \(seed), round \(round), fraction \(fraction)")
                #expect(scratch.sorted() == values.sorted(), "only reordered")
            }
        }
    }
}
