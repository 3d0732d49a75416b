import NIOCore
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The shared log of `speedo gateway`: numbering, coalescing by sensor within a range, trimming, forgetting.
struct GatewayUpdateLogTests {
    private func update(_ sensorID: String, _ speed: Double, at seconds: Int) -> GatewayUpdate {
        GatewayUpdate(latestState(sensorID, speed: speed), arrival: .seconds(seconds))
    }

    /// What a client with this cursor gets from the log now: the entries not replaced before the end, by speed.
    private func delivered(_ log: GatewayUpdateLog, from cursor: Int) -> [Double] {
        (cursor..<log.end).compactMap { number -> Double? in
            let (update, replaced) = log.entry(number, before: log.end)
            guard !replaced else { return nil }
            return Double(String(decoding: update.frame(.number).readableBytesView.dropFirst(2), as: UTF8.self))
        }
    }

    @Test func aClientThatKeepsUpGetsEveryUpdateAndOneBehindGetsTheNewestPerSensor() {
        var log = GatewayUpdateLog()
        log.append(update("a", 1, at: 0))
        log.append(update("b", 2, at: 0))
        let midway = log.end
        log.append(update("a", 3, at: 1))
        log.append(update("c", 4, at: 1))
        log.append(update("a", 5, at: 2))
        #expect(log.end == 5)
        #expect(delivered(log, from: 0) == [2, 4, 5], "a's 1 and 3 are replaced by 5")
        #expect(delivered(log, from: midway) == [4, 5])
        // Replacement counts only within the range a client sends: one that stopped before a's 3 got its 1.
        #expect(!log.entry(0, before: 2).replaced)
        #expect(log.entry(0, before: 3).replaced)
    }

    @Test func trimmingDropsWhatArrivedBeforeTheCutoffAndKeepsTheNumbers() {
        var log = GatewayUpdateLog()
        for second in 0..<8 { log.append(update("s\(second % 2)", Double(second), at: second)) }
        log.trim(arrivedBefore: .seconds(3))
        #expect(log.start == 3)
        #expect(log.end == 8)
        #expect(delivered(log, from: log.start) == [6, 7])
        // Small expiries wait until they are worth shifting the arrays for.
        for second in 8..<12 { log.append(update("t", Double(second), at: second)) }
        log.trim(arrivedBefore: .seconds(4))
        #expect(log.start == 3, "one expired entry of nine waits")
        log.trim(arrivedBefore: .seconds(6))
        #expect(log.start == 6)
        #expect(delivered(log, from: log.start) == [6, 7, 11])
    }

    @Test func aForgottenSensorStartsAfresh() {
        var log = GatewayUpdateLog()
        log.append(update("gone", 1, at: 0))
        log.forget("gone")
        log.append(update("gone", 2, at: 1))
        #expect(delivered(log, from: 0) == [1, 2], "a tombstone in between: both states were news when they came")
    }

    @Test func framesAreFinalUnmaskedTextFramesOfEveryLength() {
        for length in [0, 125, 126, 65_535, 65_536] {
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: length)
            let frame = Array(GatewayUpdate.textFrame(payload).readableBytesView)
            #expect(frame[0] == 0x81)
            let (header, announced): (Int, Int) =
                switch frame[1] {
                case 126: (4, Int(frame[2]) << 8 | Int(frame[3]))
                case 127: (10, frame[2..<10].reduce(0) { $0 << 8 | Int($1) })
                default: (2, Int(frame[1]))
                }
            #expect(frame[1] & 0x80 == 0, "a server's frames are not masked")
            #expect(announced == length)
            #expect(frame.count == header + length)
        }
    }
}
