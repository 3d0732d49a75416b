import SpeedoCore
import Testing

@Suite struct FeedMeterTests {
    private static let start = Timestamp(microseconds: 1_700_000_000_000_000)

    private static func at(milliseconds: Int64) -> Timestamp {
        Timestamp(microseconds: start.microseconds + milliseconds * 1_000)
    }

    @Test func percentilesAreExactBelowASecondAndBucketedAbove() throws {
        var lags = LagHistogram()
        #expect(lags.percentile(0.5) == nil)
        // 1...100 ms once each: the median is 50, the 99th percentile 99.
        for lag in 1...100 { lags.record(milliseconds: Int64(lag)) }
        #expect(lags.percentile(0.5) == 50)
        #expect(lags.percentile(0.99) == 99)
        #expect(lags.percentile(1) == 100)
        #expect(lags.count == 100)

        var slow = LagHistogram()
        slow.record(milliseconds: 1_234)
        slow.record(milliseconds: -5)
        slow.record(milliseconds: 3_600_000)
        #expect(slow.percentile(0) == 0)
        #expect(slow.percentile(0.5) == 1_250)  // the middle of 1200..<1300
        #expect(slow.percentile(1) == 60_000)

        lags.add(slow)
        #expect(lags.count == 103)
        lags.removeAll()
        #expect(lags.count == 0 && lags.percentile(0.5) == nil)
    }

    @Test func recentCoversTheWindowOnlyAndTheWholeRunEverything() {
        var meter = FeedMeter(windowSeconds: 5, startedAt: Self.start)
        // Second 0: 100 readings at 400 ms lag; seconds 1...9: 10 readings a second at 2 ms.
        for _ in 0..<100 { meter.record(lagMilliseconds: 400, at: Self.at(milliseconds: 500)) }
        for second in 1...9 {
            for tenth in 0..<10 {
                meter.record(lagMilliseconds: 2, at: Self.at(milliseconds: Int64(second) * 1_000 + Int64(tenth) * 100))
            }
        }
        // Early on, the rate is over the time since the start.
        var fresh = FeedMeter(windowSeconds: 5, startedAt: Self.start)
        for _ in 0..<100 { fresh.record(lagMilliseconds: 400, at: Self.at(milliseconds: 500)) }
        let early = fresh.recent(at: Self.at(milliseconds: 800))
        #expect(early.readingsPerSecond == 100 / 0.8)
        #expect(early.lagP50Milliseconds == 400 && early.lagP99Milliseconds == 400)

        // At 10.0 s the window holds seconds 6...10, which just began: 40 readings over 4 s, all at 2 ms.
        let late = meter.recent(at: Self.at(milliseconds: 10_000))
        #expect(late.readingsPerSecond == 10)
        #expect(late.lagP50Milliseconds == 2 && late.lagP99Milliseconds == 2)
        // Over the whole run, the slow burst dominates the median.
        #expect(meter.wholeRun.count == 190)
        #expect(meter.wholeRun.percentile(0.5) == 400)
        #expect(meter.wholeRun.percentile(0.4) == 2)

        // Long quiet: nothing recent, but the run is remembered.
        let quiet = meter.recent(at: Self.at(milliseconds: 60_000))
        #expect(quiet.readingsPerSecond == 0 && quiet.lagP99Milliseconds == nil)
        #expect(meter.wholeRun.count == 190)
    }
}
