/// What a reader has not taken yet, at most one value per key: a newer value replaces the waiting one in place,
/// keeping its turn and its age. The queue therefore never holds more entries than there are keys, however far
/// behind the reader falls, and a reader that comes back gets the newest value of each key, in the order the keys
/// first waited.
///
/// `now` is any monotonic time since an origin of the caller's choice. Pushing is O(1); taking is O(entries).
package struct CoalescingQueue<Value: Sendable>: Sendable {
    private var values: [String: Value] = [:]
    /// Keys waiting, in the order they arrived.
    private var order: [String] = []
    /// When the oldest waiting entry arrived; nil when the queue is empty.
    package private(set) var oldestArrival: Duration?

    package init() {}

    /// Keeps `value` as the newest of `key`; returns true when it replaced a value that was still waiting.
    @discardableResult
    package mutating func push(_ value: Value, for key: String, now: Duration) -> Bool {
        if values.updateValue(value, forKey: key) != nil { return true }
        order.append(key)
        if oldestArrival == nil { oldestArrival = now }
        return false
    }

    /// Every waiting value, oldest key first, leaving the queue empty.
    package mutating func takeAll() -> [Value] {
        let taken = order.compactMap { values[$0] }
        values.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        oldestArrival = nil
        return taken
    }

    /// How long the oldest waiting value has waited; zero when nothing waits.
    package func age(now: Duration) -> Duration {
        oldestArrival.map { now - $0 } ?? .zero
    }

    package var count: Int { order.count }
    package var isEmpty: Bool { order.isEmpty }
}
