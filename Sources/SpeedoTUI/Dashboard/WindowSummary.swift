import SpeedoCore

/// One sensor's readings over the window ending at a reference time (from end − window to end, both included, at
/// bucket resolution): count, min/avg/max, and the averages per column of a chart `columns` wide (nil where a
/// column saw no reading).
struct WindowSummary {
    let count: Int
    let minimum: Double
    let maximum: Double
    let sum: Double
    let columns: [Double?]

    var average: Double? { count > 0 ? sum / Double(count) : nil }

    /// Readings newer than `end` (a sensor clock ahead of ours) count in the last column rather than vanish.
    init(track: SensorTrack, store: SensorStore, window: TimeSpan, end: Timestamp, columns: Int) {
        let first = store.bucket(of: end - window)
        let last = max(first, store.bucket(of: end))
        let columnCount = max(0, columns)
        var sums = [Double](repeating: 0, count: columnCount)
        var counts = [Int](repeating: 0, count: columnCount)
        let span = last - first + 1
        var (count, sum, minimum, maximum) = (0, 0.0, Double.infinity, -Double.infinity)
        track.history.forEachBucket(in: first...max(last, track.history.newestBucket)) { bucket, slot in
            count += Int(slot.count)
            sum += Double(slot.sum)
            minimum = min(minimum, Double(slot.minimum))
            maximum = max(maximum, Double(slot.maximum))
            guard columnCount > 0 else { return }
            let column = Int(min(bucket - first, span - 1) * Int64(columnCount) / span)
            sums[column] += Double(slot.sum)
            counts[column] += Int(slot.count)
        }
        (self.count, self.sum, self.minimum, self.maximum) = (count, sum, minimum, maximum)
        let averages = (0..<columnCount).map { counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : nil }
        // A window of fewer buckets than columns spreads each bucket over the columns up to the next one.
        self.columns =
            span >= Int64(columnCount)
            ? averages
            : (0..<columnCount).map { column in
                let bucketOffset = Int64(column) * span / Int64(columnCount)
                return averages[Int(bucketOffset * Int64(columnCount) / span)]
            }
    }
}
