/// Count, minimum, mean and maximum of one sensor's speeds over the last `windowSeconds` seconds of EVENT time
/// (the readings' `ts`), ending at the newest reading seen.
///
/// Readings are kept as one aggregate per second in a ring of `windowSeconds` slots, so adding a reading is O(1)
/// and memory is bounded whatever the rate; a summary visits each slot once (O(window)). The window covers the
/// whole seconds `newest - windowSeconds + 1 … newest` (by the floor of `ts`): a slot whose second has left it is
/// ignored and reused. A reading older than the window (out of order) is not counted; one inside it is, wherever
/// it arrives.
package struct RollingStats: Sendable, Equatable {
    package struct Summary: Sendable, Hashable {
        package var count: Int
        package var minimum: Double
        package var average: Double
        package var maximum: Double

        package init(count: Int, minimum: Double, average: Double, maximum: Double) {
            (self.count, self.minimum, self.average, self.maximum) = (count, minimum, average, maximum)
        }
    }

    private struct Slot: Sendable, Equatable {
        var second = Int64.min
        var count = 0
        var sum = 0.0
        var minimum = Double.infinity
        var maximum = -Double.infinity
    }

    package let windowSeconds: Int
    private var slots: [Slot]
    /// The second of the newest reading counted so far.
    private var newestSecond = Int64.min

    /// `windowSeconds` ≥ 1.
    package init(windowSeconds: Int) {
        precondition(windowSeconds >= 1, "a window is at least one second")
        self.windowSeconds = windowSeconds
        slots = Array(repeating: Slot(), count: windowSeconds)
    }

    /// Counts `speed` at `timestamp`; returns false when it is older than the window (and so not counted).
    @discardableResult
    package mutating func add(speed: Double, at timestamp: Timestamp) -> Bool {
        let second = Timestamp.floorDivide(timestamp.microseconds, 1_000_000)
        if newestSecond == .min || second > newestSecond {
            newestSecond = second
        } else if second <= newestSecond - Int64(windowSeconds) {
            return false
        }
        let index = Int(Timestamp.floorDivideWithRemainder(second, Int64(windowSeconds)).remainder)
        if slots[index].second != second { slots[index] = Slot(second: second) }
        slots[index].count += 1
        slots[index].sum += speed
        slots[index].minimum = min(slots[index].minimum, speed)
        slots[index].maximum = max(slots[index].maximum, speed)
        return true
    }

    /// The window ending at the newest reading; nil before the first one.
    package var summary: Summary? {
        guard newestSecond != .min else { return nil }
        let oldest = newestSecond - Int64(windowSeconds) + 1
        var count = 0
        var sum = 0.0
        var minimum = Double.infinity
        var maximum = -Double.infinity
        for slot in slots where slot.second >= oldest && slot.second <= newestSecond {
            count += slot.count
            sum += slot.sum
            minimum = min(minimum, slot.minimum)
            maximum = max(maximum, slot.maximum)
        }
        guard count > 0 else { return nil }
        return Summary(count: count, minimum: minimum, average: sum / Double(count), maximum: maximum)
    }
}
