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

    /// A digest whose centroids each hold one value is the values themselves: the same figure, to the bit.
    @Test func singleValueCentroidsAreTheValues() {
        let seed = SplitMix64.seedFromEnvironment()
        var random = SplitMix64(seed: seed)
        for round in 0..<200 {
            let values = (0..<Int.random(in: 1...300, using: &random)).map { _ in
                Double(Int.random(in: 0..<20_000, using: &random)) / 100
            }
            let centroids = values.sorted().map { (mean: $0, count: Int64(1)) }
            for fraction in [0.0, 0.5, 0.95, 1.0] {
                #expect(
                    Percentile.continuous(fraction, ofCentroids: centroids) == Self.bySorting(fraction, values),
                    "seed \(seed), round \(round), fraction \(fraction)")
            }
        }
    }

    /// Between centroids of several values, the rank is placed between their centres.
    @Test func heavierCentroidsInterpolateBetweenTheirCentres() {
        // 10 values around 10 (ranks 0–9, centre 4.5), 1 value 20 (rank 10), 9 values around 30 (ranks 11–19, centre 15).
        let centroids: [(mean: Double, count: Int64)] = [(10, 10), (20, 1), (30, 9)]
        #expect(Percentile.continuous(0.95, ofCentroids: centroids) == 30)  // rank 18.05, past the last centre
        #expect(Percentile.continuous(0.5, ofCentroids: centroids) == 10 + (9.5 - 4.5) / (10 - 4.5) * (20 - 10))  // rank 9.5
        #expect(Percentile.continuous(0, ofCentroids: centroids) == 10)
        #expect(Percentile.continuous(1, ofCentroids: [(mean: 7, count: 3)]) == 7)
    }
}
