import SpeedoCore
import SpeedoSimulator
import Testing

@Suite struct EmissionScheduleTests {
    /// Follows the schedule on a clock that wakes up late by `oversleep` and spends `work` per emitted reading;
    /// returns every step it took, with the time it was taken.
    private func follow(
        _ schedule: inout EmissionSchedule, until end: Duration,
        oversleep: @escaping (Duration) -> Duration = { _ in .zero }, work: Duration = .zero
    ) -> [(time: Duration, step: EmissionSchedule.Step)] {
        let clock = SteppedClock()
        clock.oversleep = oversleep
        var steps: [(time: Duration, step: EmissionSchedule.Step)] = []
        while clock.now < end {
            let step = schedule.next(at: clock.now)
            steps.append((clock.now, step))
            switch step {
            case .finished: return steps
            case .wait(let deadline): clock.wait(until: deadline)
            case .emit(let range, _): clock.now += work * range.count
            }
        }
        return steps
    }

    @Test func readingsAreSpreadEvenlyOverEachPeriod() {
        let schedule = EmissionSchedule(sensors: 4, ratePerSensor: 10, stop: nil)
        #expect(schedule.totalRate == 40)
        // Sensor 1's readings are a period (100 ms) apart, a quarter period after sensor 0's.
        #expect(schedule.offset(of: 1) == .milliseconds(25))
        #expect(schedule.offset(of: 5) == .milliseconds(125))
        #expect(schedule.offset(of: 4_000_001) == .seconds(100_000) + .milliseconds(25))
    }

    @Test func aCountRunEmitsExactlyThatManyAndLastsItsPeriods() {
        var schedule = EmissionSchedule(sensors: 3, ratePerSensor: 1, stop: .count(30))
        let steps = follow(&schedule, until: .seconds(60))
        let emitted = steps.compactMap { if case .emit(let range, _) = $0.step { range } else { nil } }
        #expect(emitted.map(\.count).reduce(0, +) == 30)
        #expect(emitted.first?.lowerBound == 0)
        #expect(zip(emitted, emitted.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound }, "gaps or overlaps")
        // 30 readings at 3 per second take 10 s: the last one is due at 9.667 s and owns the period after it.
        #expect(steps.last?.step == .finished)
        #expect(steps.last?.time == .seconds(10))
    }

    @Test func aDurationRunEmitsTheReadingsDueWithinIt() {
        var schedule = EmissionSchedule(sensors: 10, ratePerSensor: 50, stop: .duration(.seconds(2)))
        #expect(schedule.limit == 1_000)
        let steps = follow(&schedule, until: .seconds(10))
        #expect(steps.last?.step == .finished)
        #expect(schedule.emitted == 1_000)
        #expect(steps.last.map { $0.time - .seconds(2) } ?? .seconds(1) < .milliseconds(1))
    }

    @Test func readingsLeaveInBatchesOnTheTickGrid() {
        var schedule = EmissionSchedule(
            sensors: 2_000, ratePerSensor: 10, stop: .duration(.seconds(1)), tick: .milliseconds(20))
        let steps = follow(&schedule, until: .seconds(2))
        var sizes: [Int] = []
        for (time, step) in steps {
            switch step {
            case .emit(let range, let lateness):
                sizes.append(range.count)
                #expect(lateness < .milliseconds(20))
            case .wait(let deadline):
                #expect(deadline.microseconds % 20_000 == 0, "wakes off the grid at \(deadline)")
                #expect(deadline > time)
            case .finished:
                break
            }
        }
        // 20,000/s in 20 ms ticks: the reading due at 0 at once, then 400 per tick; the last tick has the rest.
        #expect(sizes.first == 1)
        #expect(sizes.dropFirst().dropLast().allSatisfy { $0 == 400 })
        #expect(sizes.last == 399)
        #expect(sizes.reduce(0, +) == 20_000)
    }

    @Test func lateWakeUpsDoNotAccumulateIntoDrift() {
        // An hour at 20,000 readings/s on a clock that wakes 0–7 ms late every time: if lateness added up,
        // the run would fall minutes behind.
        var jitter = SplitMix64(seed: 5)
        var schedule = EmissionSchedule(sensors: 2_000, ratePerSensor: 10, stop: .duration(.seconds(3_600)))
        let steps = follow(&schedule, until: .seconds(7_200)) { _ in .microseconds(Int64(jitter.next() % 7_000)) }
        #expect(schedule.emitted == 72_000_000)
        let end = steps.last!.time
        #expect(end >= .seconds(3_600) && end < .seconds(3_600) + .milliseconds(8), "ended at \(end)")
        #expect(schedule.maximumLateness < .milliseconds(20 + 7))
    }

    @Test func aSlowOutputIsCaughtUpInBiggerBatchesNotByLoweringTheRate() {
        // Writing takes 60 µs per reading: 16,667 readings/s against 20,000 asked for, for the first 10 s…
        var schedule = EmissionSchedule(
            sensors: 2_000, ratePerSensor: 10, stop: .duration(.seconds(20)), maximumBatch: 1_000_000)
        let clock = SteppedClock()
        var batches: [(time: Duration, size: Int, lateness: Duration)] = []
        loop: while true {
            switch schedule.next(at: clock.now) {
            case .finished: break loop
            case .wait(let deadline): clock.wait(until: deadline)
            case .emit(let range, let lateness):
                batches.append((clock.now, range.count, lateness))
                // …then 10 µs per reading (100,000/s): it catches up.
                clock.now += .microseconds(clock.now < .seconds(10) ? 60 : 10) * range.count
            }
        }
        #expect(schedule.emitted == 400_000, "every reading is still produced")
        let behind = batches.filter { $0.time < .seconds(10) }
        #expect(behind.last!.lateness > .seconds(1), "the schedule did not notice it fell behind")
        #expect(behind.last!.size > 2 * 400, "no bigger batches while behind")
        #expect(batches.last!.lateness < .milliseconds(20), "did not catch up")
        #expect(clock.now < .seconds(20) + .milliseconds(20))
    }

    @Test func batchesAreCappedAtTheMaximum() {
        var schedule = EmissionSchedule(sensors: 100, ratePerSensor: 100, stop: nil, maximumBatch: 250)
        #expect(schedule.next(at: .seconds(3)) == .emit(0..<250, lateness: .seconds(3)))
        #expect(schedule.next(at: .seconds(3)) == .emit(250..<500, lateness: .seconds(3) - .milliseconds(25)))
    }
}
