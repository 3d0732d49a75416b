import SpeedoCore
@testable import SpeedoSimulator
import Testing

@Suite struct SimulationRunTests {
    private func makeRun(
        sensors: Int = 5, rate: Double = 10, stop: StopCondition?, clock: SteppedClock, sink: CollectingSink
    ) throws -> SimulationRun<CollectingSink, SteppedClock> {
        SimulationRun(
            fleet: try Fleet(sensors: sensors, prefix: "sensor-", seed: 7, ratePerSensor: rate),
            schedule: EmissionSchedule(sensors: sensors, ratePerSensor: rate, stop: stop),
            sink: sink, clock: clock, start: testNow)
    }

    @Test func readingsAreStampedWithTheirScheduledTimes() throws {
        let clock = SteppedClock()
        let sink = CollectingSink(clock: clock)
        var run = try makeRun(stop: .count(100), clock: clock, sink: sink)
        #expect(try run.run(isInterrupted: { false }) == .completed)
        #expect(sink.finished)
        #expect(run.delivered == 100)
        #expect(run.elapsed == .seconds(2))
        #expect(sink.readings.map(\.sensorID) == (0..<100).map { "sensor-\($0 % 5)" })
        // 50 readings per second: 20 ms apart, from the start time on.
        #expect(sink.readings.map(\.timestamp) == (0..<100).map { testNow + TimeSpan(microseconds: Int64($0) * 20_000) })
        #expect(sink.batchSizes.count > 50, "readings should leave tick by tick, not all at once")
    }

    @Test func theOutputDoesNotChangeWithTheMachinesPace() throws {
        let steady = SteppedClock()
        let steadySink = CollectingSink(clock: steady)
        var steadyRun = try makeRun(stop: .count(500), clock: steady, sink: steadySink)
        _ = try steadyRun.run(isInterrupted: { false })

        let sluggish = SteppedClock()
        sluggish.oversleep = { _ in .milliseconds(35) }
        let sluggishSink = CollectingSink(clock: sluggish)
        sluggishSink.delay = { .milliseconds(3) * $0 }
        var sluggishRun = try makeRun(stop: .count(500), clock: sluggish, sink: sluggishSink)
        _ = try sluggishRun.run(isInterrupted: { false })

        #expect(steadySink.batchSizes != sluggishSink.batchSizes)
        #expect(steadySink.readings == sluggishSink.readings)
    }

    @Test func anInterruptionStopsAfterTheBatchInHandAndFinishes() throws {
        let clock = SteppedClock()
        let sink = CollectingSink(clock: clock)
        var run = try makeRun(stop: nil, clock: clock, sink: sink)
        #expect(try run.run(isInterrupted: { clock.now >= .seconds(3) }) == .interrupted)
        #expect(sink.finished)
        #expect(run.delivered == Int64(sink.readings.count))
        #expect((150...152).contains(sink.readings.count), "\(sink.readings.count) readings in 3 s at 50/s")
    }

    @Test func aClosedOutputEndsTheRun() throws {
        let clock = SteppedClock()
        let sink = CollectingSink(clock: clock)
        sink.closeAfter = 42
        var run = try makeRun(stop: nil, clock: clock, sink: sink)
        #expect(try run.run(isInterrupted: { false }) == .outputClosed)
        #expect(run.delivered == Int64(sink.readings.count))
        #expect(sink.readings.count <= 42)
    }

    @Test func fallingBehindAndCatchingUpAreReported() throws {
        let clock = SteppedClock()
        let sink = CollectingSink(clock: clock)
        // 40 ms per reading against 20 ms between readings, for the first two seconds.
        sink.delay = { count in clock.now < .seconds(2) ? .milliseconds(40) * count : .zero }
        var run = try makeRun(stop: .duration(.seconds(10)), clock: clock, sink: sink)
        var changes: [PaceChange] = []
        #expect(try run.run(isInterrupted: { false }, paceChanged: { changes.append($0) }) == .completed)
        #expect(changes.count == 2)
        if case .fellBehind(let lateness) = changes.first {
            #expect(lateness > run.behindThreshold)
        } else {
            Issue.record("expected a report of falling behind first, got \(changes)")
        }
        #expect(changes.last == .caughtUp)
        #expect(run.delivered == 500)
    }

    @Test func theSummaryComparesTheAchievedRateWithTheTarget() {
        let summary = RunSummary(readings: 594_000, elapsed: .seconds(30), targetRate: 20_000)
        #expect(summary.achievedRate == 19_800)
        #expect(abs(summary.rateErrorPercent - -1) < 1e-9)
    }
}
