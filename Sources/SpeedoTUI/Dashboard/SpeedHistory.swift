import SpeedoCore

/// One sensor's speeds over the retention span, kept as aggregates of fixed-width time buckets (count, sum,
/// minimum, maximum): memory is bounded by the number of buckets whatever the reading rate, and a reading costs
/// one slot update.
///
/// The ring starts small and doubles up to `slotLimit` only when two live buckets would share a slot, so a
/// sensor seen for a few seconds costs a few hundred bytes, a full retention span about 24 KB.
struct SpeedHistory: Sendable {
    struct Bucket: Sendable {
        /// The bucket number's low 32 bits: enough to tell buckets apart within a span of `slotLimit` buckets.
        var tag: UInt32 = 0
        var count: UInt32 = 0
        var sum: Float = 0
        var minimum: Float = 0
        var maximum: Float = 0
    }

    /// How many consecutive buckets are kept: the retention span divided by the bucket width.
    let slotLimit: Int
    private var slots: [Bucket] = []
    private(set) var newestBucket = Int64.min

    init(slotLimit: Int) {
        precondition(slotLimit >= 1, "a history keeps at least one bucket")
        self.slotLimit = slotLimit
    }

    /// Counts `speed` in `bucket`; false when the bucket is older than the retention span (not counted).
    mutating func add(speed: Double, bucket: Int64) -> Bool {
        if newestBucket != .min, bucket <= newestBucket - Int64(slotLimit) { return false }
        if newestBucket == .min || bucket > newestBucket { newestBucket = bucket }
        if slots.isEmpty { slots = Array(repeating: Bucket(), count: min(slotLimit, 8)) }
        let tag = UInt32(truncatingIfNeeded: bucket)
        var index = Self.slotIndex(of: bucket, capacity: slots.count)
        while slots[index].tag != tag, isLive(slots[index]) {
            grow()
            index = Self.slotIndex(of: bucket, capacity: slots.count)
        }
        let value = Float(speed)
        if slots[index].tag != tag || !isLive(slots[index]) {
            slots[index] = Bucket(tag: tag, count: 1, sum: value, minimum: value, maximum: value)
        } else {
            slots[index].count += 1
            slots[index].sum += value
            slots[index].minimum = min(slots[index].minimum, value)
            slots[index].maximum = max(slots[index].maximum, value)
        }
        return true
    }

    /// Calls `body` with every bucket in `range` that holds readings, in no particular order.
    func forEachBucket(in range: ClosedRange<Int64>, _ body: (Int64, Bucket) -> Void) {
        for slot in slots where isLive(slot) {
            let bucket = newestBucket - Int64(age(of: slot))
            if range.contains(bucket) { body(bucket, slot) }
        }
    }

    /// Bytes held by the ring (for the memory figures in tests and reports).
    var allocatedBytes: Int { slots.capacity * MemoryLayout<Bucket>.stride }

    private func age(of slot: Bucket) -> UInt32 { UInt32(truncatingIfNeeded: newestBucket) &- slot.tag }

    private func isLive(_ slot: Bucket) -> Bool { slot.count > 0 && age(of: slot) < UInt32(slotLimit) }

    private static func slotIndex(of bucket: Int64, capacity: Int) -> Int {
        let remainder = bucket % Int64(capacity)
        return Int(remainder < 0 ? remainder + Int64(capacity) : remainder)
    }

    /// Doubles the ring (capped at `slotLimit`, where no two live buckets can collide) until every live bucket
    /// has a slot of its own.
    private mutating func grow() {
        let live = slots.filter(isLive)
        var capacity = slots.count
        repeat {
            capacity = min(slotLimit, capacity * 2)
            var resized = Array(repeating: Bucket(), count: capacity)
            var collided = false
            for slot in live {
                let index = Self.slotIndex(of: newestBucket - Int64(age(of: slot)), capacity: capacity)
                if resized[index].count > 0 {
                    collided = true
                    break
                }
                resized[index] = slot
            }
            if !collided {
                slots = resized
                return
            }
        } while capacity < slotLimit
        preconditionFailure("live buckets span less than slotLimit, so a ring of slotLimit slots holds them all")
    }
}

/// The timestamps of a sensor's newest readings, to recognise a reading delivered twice (back-fill overlapping
/// the live stream, a redelivery after a reconnect) in whatever order readings arrive.
///
/// At least the newest `kept` readings are remembered exactly (51 s at 10 Hz); when `limit` is reached the older
/// ones are forgotten, so a duplicate of a reading older than those is counted again: bounded memory (at most
/// 6 KB per sensor) in exchange for exactness far behind the live edge. Kept sorted, so the in-order live
/// stream appends and a look-up is a binary search.
struct RecentTimestamps: Sendable {
    static let kept = 512
    static let limit = 768
    private var sorted: [Int64] = []

    func contains(_ timestamp: Timestamp) -> Bool {
        let position = insertionPoint(of: timestamp.microseconds)
        return position < sorted.count && sorted[position] == timestamp.microseconds
    }

    /// `timestamp` must not be present already.
    mutating func insert(_ timestamp: Timestamp) {
        let value = timestamp.microseconds
        if let last = sorted.last, value < last {
            sorted.insert(value, at: insertionPoint(of: value))
        } else {
            sorted.append(value)
        }
        if sorted.count > Self.limit { sorted.removeFirst(sorted.count - Self.kept) }
    }

    var allocatedBytes: Int { sorted.capacity * MemoryLayout<Int64>.stride }

    /// The first position whose timestamp is not less than `value`.
    private func insertionPoint(of value: Int64) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
