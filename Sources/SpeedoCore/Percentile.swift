/// Percentiles computed the way PostgreSQL's `percentile_cont` does, so that a statistic computed here from the
/// values equals the one the database would compute: the value at fractional rank `fraction × (n − 1)` of the
/// values in ascending order, interpolated linearly between the two neighbouring ranks (`lo + (hi − lo) × p`).
package enum Percentile {
    /// The continuous percentile of `values` (not empty; no NaN), `fraction` in 0…1. Reorders `values` in
    /// place: a selection, linear on average, instead of a sort.
    package static func continuous(_ fraction: Double, of values: inout [Double]) -> Double {
        precondition(!values.isEmpty, "a percentile of no values")
        let rank = fraction * Double(values.count - 1)
        let lowerRank = Int(rank.rounded(.down))
        let upperRank = Int(rank.rounded(.up))
        let lower = values.withUnsafeMutableBufferPointer { select(lowerRank, in: $0) }
        guard upperRank != lowerRank else { return lower }
        // After the selection every value past `lowerRank` is at least `lower`: the next rank is their minimum.
        let upper = values[(lowerRank + 1)...].min()!
        return lower + (rank - Double(lowerRank)) * (upper - lower)
    }

    /// The continuous percentile estimated from a digest's centroids (mean and count, in ascending order of mean,
    /// none empty): each centroid stands for `count` values around its mean, centred on the middle of the ranks it
    /// covers, and the fractional rank `fraction × (n − 1)` is interpolated linearly between the two centroids whose
    /// centres surround it (before the first centre or past the last, that centroid's mean). Where every centroid
    /// holds one value this is `continuous` exactly; it estimates a rank between centres as a t-digest does.
    package static func continuous(_ fraction: Double, ofCentroids centroids: [(mean: Double, count: Int64)]) -> Double {
        precondition(!centroids.isEmpty, "a percentile of no centroids")
        let total = centroids.reduce(Int64(0)) { $0 + $1.count }
        let rank = fraction * Double(total - 1)
        var firstRank: Int64 = 0
        var previous: (centre: Double, mean: Double)? = nil
        for centroid in centroids {
            let centre = Double(firstRank) + Double(centroid.count - 1) / 2
            if rank <= centre {
                // On a centre itself, its mean: interpolating towards it can miss it by a rounding.
                guard let previous, rank < centre else { return centroid.mean }
                return previous.mean + (rank - previous.centre) / (centre - previous.centre) * (centroid.mean - previous.mean)
            }
            previous = (centre, centroid.mean)
            firstRank += centroid.count
        }
        return centroids[centroids.count - 1].mean
    }

    /// Moves the value of ascending rank `rank` to that index, smaller or equal values before it and greater or
    /// equal ones after (Hoare partitioning around a median of three; a range that keeps shrinking slowly, as
    /// crafted input can make it, is sorted instead, so the worst case stays n log n).
    private static func select(_ rank: Int, in values: UnsafeMutableBufferPointer<Double>) -> Double {
        var low = 0, high = values.count - 1
        var roundsLeft = 2 * (Int.bitWidth - values.count.leadingZeroBitCount) + 8
        while low < high {
            roundsLeft -= 1
            if roundsLeft == 0 {
                var rest = UnsafeMutableBufferPointer(rebasing: values[low...high])
                rest.sort()
                break
            }
            let middle = low + (high - low) / 2
            if values[middle] < values[low] { values.swapAt(middle, low) }
            if values[high] < values[low] { values.swapAt(high, low) }
            if values[high] < values[middle] { values.swapAt(high, middle) }
            let pivot = values[middle]
            var left = low, right = high
            while left <= right {
                while values[left] < pivot { left += 1 }
                while pivot < values[right] { right -= 1 }
                if left <= right {
                    values.swapAt(left, right)
                    left += 1
                    right -= 1
                }
            }
            // [low, right] ≤ pivot ≤ [left, high], and whatever lies between equals the pivot.
            if rank <= right {
                high = right
            } else if rank >= left {
                low = left
            } else {
                break
            }
        }
        return values[rank]
    }
}
