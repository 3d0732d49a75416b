/// Lags in milliseconds, counted in buckets: 1 ms wide up to 1 s, 100 ms wide up to a minute, then one bucket for
/// everything longer. Recording is one increment, so a feed can afford it for every record; percentiles are read
/// off the counts.
package struct LagHistogram: Sendable, Hashable {
    private static let fineLimit = 1_000
    private static let coarseWidth = 100
    private static let coarseLimit = 60_000
    private static let bucketCount = fineLimit + (coarseLimit - fineLimit) / coarseWidth + 1

    private var counts = [Int](repeating: 0, count: bucketCount)
    package private(set) var count = 0

    package init() {}

    /// Negative lags (a producer clock ahead of ours) count as 0.
    package mutating func record(milliseconds: Int64) {
        counts[Self.bucket(milliseconds)] += 1
        count += 1
    }

    package mutating func add(_ other: LagHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
    }

    package mutating func removeAll() {
        for index in counts.indices { counts[index] = 0 }
        count = 0
    }

    /// The lag that `fraction` (0...1) of the recorded lags do not exceed: exact below 1 s, the middle of its
    /// 100 ms bucket up to a minute, and 60 s for anything longer. nil when nothing was recorded.
    package func percentile(_ fraction: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, Int((fraction * Double(count)).rounded(.up)))
        var seen = 0
        for (index, bucketCount) in counts.enumerated() {
            seen += bucketCount
            if seen >= rank { return Self.value(ofBucket: index) }
        }
        return Self.value(ofBucket: counts.count - 1)
    }

    private static func bucket(_ milliseconds: Int64) -> Int {
        let lag = Int(clamping: max(0, milliseconds))
        if lag < fineLimit { return lag }
        if lag >= coarseLimit { return bucketCount - 1 }
        return fineLimit + (lag - fineLimit) / coarseWidth
    }

    private static func value(ofBucket index: Int) -> Double {
        if index < fineLimit { return Double(index) }
        if index == bucketCount - 1 { return Double(coarseLimit) }
        return Double(fineLimit + (index - fineLimit) * coarseWidth) + Double(coarseWidth) / 2
    }
}

/// Readings per second and their lag (arrival time − record time) over a sliding window of whole seconds, and lag
/// over the whole run, for a live feed. Pure: callers pass the time.
package struct FeedMeter: Sendable {
    package struct Recent: Sendable, Hashable {
        package var readingsPerSecond: Double
        package var lagP50Milliseconds: Double?
        package var lagP99Milliseconds: Double?
    }

    /// One second of arrivals.
    private struct Slot: Sendable {
        var second: Int64 = .min
        var lags = LagHistogram()
    }

    private let windowSeconds: Int64
    private let startedAt: Timestamp
    private var slots: [Slot]
    package private(set) var wholeRun = LagHistogram()

    /// - Parameter windowSeconds: how many whole seconds `recent` covers (the current, partial one included).
    package init(windowSeconds: Int = 5, startedAt: Timestamp) {
        precondition(windowSeconds >= 1, "the window needs at least one second")
        self.windowSeconds = Int64(windowSeconds)
        self.startedAt = startedAt
        slots = Array(repeating: Slot(), count: windowSeconds)
    }

    /// One reading that arrived at `now` after `lagMilliseconds`.
    package mutating func record(lagMilliseconds: Int64, at now: Timestamp) {
        let second = Timestamp.floorDivide(now.microseconds, 1_000_000)
        let index = Int(second.magnitude % UInt64(windowSeconds))
        if slots[index].second != second {
            slots[index].second = second
            slots[index].lags.removeAll()
        }
        slots[index].lags.record(milliseconds: lagMilliseconds)
        wholeRun.record(milliseconds: lagMilliseconds)
    }

    /// Over the window ending at `now` (or since the start, when that is shorter).
    package func recent(at now: Timestamp) -> Recent {
        let second = Timestamp.floorDivide(now.microseconds, 1_000_000)
        var lags = LagHistogram()
        for slot in slots where slot.second > second - windowSeconds && slot.second <= second {
            lags.add(slot.lags)
        }
        let windowStart = Timestamp(microseconds: (second - windowSeconds + 1) * 1_000_000)
        let covered = (now - max(windowStart, startedAt)).seconds
        return Recent(
            readingsPerSecond: covered > 0 ? Double(lags.count) / covered : 0,
            lagP50Milliseconds: lags.percentile(0.5),
            lagP99Milliseconds: lags.percentile(0.99))
    }
}
