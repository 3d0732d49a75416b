import Testing

@testable import SpeedoCore

private func at(_ seconds: Double) -> Timestamp {
    Timestamp(microseconds: Int64((1_700_000_000 + seconds) * 1_000_000))
}

@Suite struct RollingStatsTests {
    @Test func countsMinMeanAndMaxWithinTheWindow() {
        var stats = RollingStats(windowSeconds: 10)
        #expect(stats.summary == nil)
        for (offset, speed) in [(0.0, 10.0), (0.5, 30), (3, 20), (9.9, 40)] { stats.add(speed: speed, at: at(offset)) }
        #expect(stats.summary == RollingStats.Summary(count: 4, minimum: 10, average: 25, maximum: 40))
    }

    @Test func evictsByEventTimeAndRecomputesMinAndMax() {
        var stats = RollingStats(windowSeconds: 10)
        stats.add(speed: 1, at: at(0))  // the minimum, evicted first
        stats.add(speed: 100, at: at(2))  // the maximum, evicted second
        stats.add(speed: 50, at: at(5))
        // 10 s later by event time (not by arrival): second 0 has left the window 1…10.
        stats.add(speed: 60, at: at(10))
        #expect(stats.summary == RollingStats.Summary(count: 3, minimum: 50, average: 70, maximum: 100))
        stats.add(speed: 70, at: at(12.2))
        #expect(stats.summary == RollingStats.Summary(count: 3, minimum: 50, average: 60, maximum: 70))
        // A jump far ahead leaves only the new reading.
        stats.add(speed: 5, at: at(100))
        #expect(stats.summary == RollingStats.Summary(count: 1, minimum: 5, average: 5, maximum: 5))
    }

    @Test func outOfOrderReadingsCountInsideTheWindowAndAreDroppedOutsideIt() {
        var stats = RollingStats(windowSeconds: 5)
        stats.add(speed: 20, at: at(10))
        let late = stats.add(speed: 2, at: at(7))  // late but inside 6…10
        let tooLate = stats.add(speed: 999, at: at(5.9))  // second 5: outside
        #expect(late && !tooLate)
        #expect(stats.summary == RollingStats.Summary(count: 2, minimum: 2, average: 11, maximum: 20))
        // Second 11 takes a free slot; second 7 is still inside 7…11.
        stats.add(speed: 4, at: at(11))
        #expect(stats.summary == RollingStats.Summary(count: 3, minimum: 2, average: 26.0 / 3, maximum: 20))
        stats.add(speed: 8, at: at(12.5))  // second 12 reuses the slot of second 7
        #expect(stats.summary == RollingStats.Summary(count: 3, minimum: 4, average: 32.0 / 3, maximum: 20))
    }

    @Test func aOneSecondWindowKeepsOnlyTheNewestSecond() {
        var stats = RollingStats(windowSeconds: 1)
        stats.add(speed: 3, at: at(0.1))
        stats.add(speed: 5, at: at(0.9))
        stats.add(speed: 7, at: at(1.0))
        #expect(stats.summary == RollingStats.Summary(count: 1, minimum: 7, average: 7, maximum: 7))
    }
}

@Suite struct LatestStateTests {
    @Test func encodesTheDocumentedFormatAndDecodesIt() throws {
        let state = LatestState(
            reading: Reading(sensorID: "sensor-1", speed: 42.5, timestamp: at(0.5)), windowSeconds: 60,
            statistics: RollingStats.Summary(count: 600, minimum: 0, average: 38.2, maximum: 71.5))
        let json = String(decoding: state.encoded(), as: UTF8.self)
        #expect(json == #"{"sensor_id":"sensor-1","speed":42.5,"ts":1700000000.5,"window_s":60,"count":600,"min":0,"avg":38.2,"max":71.5}"#)
        #expect(try LatestState.decode(state.encoded(), now: at(60)).get() == state)
        let spaced = #"{ "max": 71.5, "avg": 38.2, "min": 0, "count": 600, "window_s": 60, "ts": 1700000000.5, "speed": 42.5, "sensor_id": "sensor-1" }"#
        #expect(try LatestState.decode(Array(spaced.utf8), now: at(60)).get() == state)
    }

    @Test func rejectsMissingOrInconsistentStatistics() {
        let reading = #""sensor_id":"s","speed":1,"ts":1700000000"#
        let cases: [(String, String)] = [
            (#"{\#(reading)}"#, "window_s"),
            (#"{\#(reading),"window_s":60,"count":1,"min":1,"avg":1}"#, "max"),
            (#"{\#(reading),"window_s":0,"count":1,"min":1,"avg":1,"max":1}"#, "window_s"),
            (#"{\#(reading),"window_s":60,"count":1.5,"min":1,"avg":1,"max":1}"#, "count"),
            (#"{\#(reading),"window_s":60,"count":2,"min":1,"avg":5,"max":2}"#, "avg"),
            (#"{"sensor_id":"s","speed":"1","window_s":60,"count":1,"min":1,"avg":1,"max":1}"#, "speed"),
        ]
        for (text, field) in cases {
            switch LatestState.decode(Array(text.utf8), now: at(60)) {
            case .success(let state): Issue.record("accepted \(text) as \(state)")
            case .failure(let rejection): #expect(rejection.field == field, "\(text): \(rejection)")
            }
        }
    }
}

@Suite struct CoalescingRateLimiterTests {
    @Test func aBurstEmitsAtMostOncePerIntervalPerKeyAndAlwaysTheLastValue() {
        var limiter = CoalescingRateLimiter<Int>(interval: .milliseconds(100))  // 10 a second
        var emitted: [String: [(time: Duration, value: Int)]] = [:]
        // Two keys, a value every millisecond for 2.5 s, and a tick every 15 ms in between.
        for millisecond in 0..<2_500 {
            let now = Duration.milliseconds(millisecond)
            for key in ["a", "b"] {
                if let value = limiter.offer(millisecond, for: key, now: now) { emitted[key, default: []].append((now, value)) }
            }
            if millisecond % 15 == 0 {
                for (key, value) in limiter.takeDue(now: now) { emitted[key, default: []].append((now, value)) }
            }
        }
        // The burst is over: ticks go on until nothing is pending.
        var now = Duration.milliseconds(2_500)
        while limiter.pendingCount > 0 {
            for (key, value) in limiter.takeDue(now: now) { emitted[key, default: []].append((now, value)) }
            now += .milliseconds(15)
        }
        for key in ["a", "b"] {
            let emissions = emitted[key] ?? []
            #expect(emissions.last?.value == 2_499, "the last value of \(key) must be emitted")
            for (earlier, later) in zip(emissions, emissions.dropFirst()) {
                #expect(later.time - earlier.time >= .milliseconds(100))
                #expect(later.value > earlier.value)
            }
            // 2.5 s at 10 a second, the first at once: at most 26, and the ticks keep it close to that.
            #expect(emissions.count <= 26 && emissions.count >= 20, "\(key): \(emissions.count) emissions")
        }
    }

    @Test func aQuietKeyEmitsAtOnceAndTakeAllFlushesWhatIsPending() {
        var limiter = CoalescingRateLimiter<String>(interval: .seconds(1))
        #expect(limiter.offer("first", for: "k", now: .zero) == "first")
        #expect(limiter.offer("second", for: "k", now: .milliseconds(10)) == nil)
        #expect(limiter.offer("third", for: "k", now: .milliseconds(20)) == nil)
        #expect(limiter.takeDue(now: .milliseconds(999)).isEmpty)
        #expect(limiter.takeAll(now: .milliseconds(999)).map(\.value) == ["third"])
        #expect(limiter.pendingCount == 0)
        #expect(limiter.offer("fourth", for: "k", now: .seconds(3)) == "fourth")
    }
}
