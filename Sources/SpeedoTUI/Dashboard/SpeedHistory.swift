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

/// The timestamps of a sensor's last few accepted readings, to recognise a reading delivered twice (back-fill
/// overlapping the live stream, a redelivery after a reconnect). Only a reading not newer than the newest one
/// is looked up, so the in-order live stream never scans.
struct RecentTimestamps: Sendable {
    static let capacity = 128
    private var ring: [Int64] = []
    private var next = 0

    func contains(_ timestamp: Timestamp) -> Bool { ring.contains(timestamp.microseconds) }

    mutating func insert(_ timestamp: Timestamp) {
        if ring.count < Self.capacity {
            ring.append(timestamp.microseconds)
        } else {
            ring[next] = timestamp.microseconds
            next = (next + 1) % Self.capacity
        }
    }

    var allocatedBytes: Int { ring.capacity * MemoryLayout<Int64>.stride }
}
