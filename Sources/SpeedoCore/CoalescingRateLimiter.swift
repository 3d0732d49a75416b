/// At most one emission per `interval` per key, and never a lost last value: between emissions only the newest
/// value of a key is kept, and it becomes due once the key's interval since its previous emission has passed.
///
/// `now` is any monotonic time since an origin of the caller's choice. Offering is O(1); `takeDue` visits only
/// the keys holding a value.
package struct CoalescingRateLimiter<Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var lastEmission: Duration?
        var pending: Value?
    }

    package let interval: Duration
    private var entries: [String: Entry] = [:]
    /// Keys whose entry holds a pending value.
    private var waiting: Set<String> = []

    package init(interval: Duration) {
        self.interval = interval
    }

    /// Keeps `value` as the newest of `key`; returns it to emit at once when the key may emit now (then nothing
    /// stays pending for it).
    package mutating func offer(_ value: Value, for key: String, now: Duration) -> Value? {
        var entry = entries[key] ?? Entry()
        if entry.lastEmission.map({ now - $0 >= interval }) ?? true {
            entry.lastEmission = now
            entry.pending = nil
            entries[key] = entry
            waiting.remove(key)
            return value
        }
        entry.pending = value
        entries[key] = entry
        waiting.insert(key)
        return nil
    }

    /// The pending values whose key's interval has passed, marked as emitted now.
    package mutating func takeDue(now: Duration) -> [(key: String, value: Value)] {
        var due: [(key: String, value: Value)] = []
        for key in waiting {
            guard var entry = entries[key], let value = entry.pending,
                entry.lastEmission.map({ now - $0 >= interval }) ?? true
            else { continue }
            entry.pending = nil
            entry.lastEmission = now
            entries[key] = entry
            due.append((key, value))
        }
        for item in due { waiting.remove(item.key) }
        return due
    }

    /// Every pending value, whether due or not (for a shutdown), marked as emitted now.
    package mutating func takeAll(now: Duration) -> [(key: String, value: Value)] {
        let all = waiting.compactMap { key in entries[key]?.pending.map { (key: key, value: $0) } }
        for item in all {
            entries[item.key]?.pending = nil
            entries[item.key]?.lastEmission = now
        }
        waiting.removeAll()
        return all
    }

    /// How many keys hold a value not emitted yet.
    package var pendingCount: Int { waiting.count }
}
