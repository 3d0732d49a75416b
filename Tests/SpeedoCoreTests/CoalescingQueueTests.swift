import SpeedoCore
import Testing

@Suite struct CoalescingQueueTests {
    @Test func aNewerValueReplacesTheWaitingOneInItsTurn() {
        var queue = CoalescingQueue<Int>()
        let replaced = [
            queue.push(1, for: "a", now: .milliseconds(10)), queue.push(2, for: "b", now: .milliseconds(20)),
            queue.push(3, for: "a", now: .milliseconds(30)), queue.push(4, for: "c", now: .milliseconds(40)),
        ]
        #expect(replaced == [false, false, true, false])
        #expect(queue.count == 3)
        // "a" keeps its first place and its age, with its newest value.
        #expect(queue.age(now: .milliseconds(50)) == .milliseconds(40))
        let taken = queue.takeAll()
        #expect(taken == [3, 2, 4])
        #expect(queue.isEmpty)
        #expect(queue.age(now: .milliseconds(60)) == .zero)
    }

    @Test func theQueueNeverHoldsMoreThanOneEntryPerKey() {
        var queue = CoalescingQueue<Int>()
        var replaced = 0
        for step in 0..<10_000 where queue.push(step, for: "sensor-\(step % 7)", now: .milliseconds(step)) {
            replaced += 1
        }
        #expect(queue.count == 7)
        #expect(replaced == 10_000 - 7)
        // Keys in their first order (sensor-0…sensor-6), each with its last value.
        let taken = queue.takeAll()
        #expect(taken == [9_996, 9_997, 9_998, 9_999, 9_993, 9_994, 9_995])
        // Taking restarts the age: the next value is the oldest.
        queue.push(1, for: "x", now: .seconds(100))
        #expect(queue.age(now: .seconds(101)) == .seconds(1))
    }
}
