import SpeedoCore
import SpeedoSimulator

/// 2027-01-15T08:00:00Z: the fixed "now" of the tests.
let testNow = Timestamp(microseconds: 1_800_000_000_000_000)

/// A clock the test moves: waiting jumps to the deadline plus `oversleep`, like a busy machine waking late.
final class SteppedClock: PacingClock {
    var now: Duration = .zero
    var oversleep: (Duration) -> Duration = { _ in .zero }
    private(set) var waits = 0

    func elapsed() -> Duration { now }

    func wait(until deadline: Duration) {
        waits += 1
        if deadline > now { now = deadline + oversleep(deadline) }
    }
}

/// Keeps what it is given; `delay` is how long a write takes on `clock`, `closeAfter` how many readings it takes
/// before its reader goes away.
final class CollectingSink: ReadingSink {
    let clock: SteppedClock
    var delay: (Int) -> Duration = { _ in .zero }
    var closeAfter: Int?
    private(set) var readings: [Reading] = []
    private(set) var batchSizes: [Int] = []
    private(set) var finished = false

    init(clock: SteppedClock) {
        self.clock = clock
    }

    func write(_ batch: [Reading]) throws -> SinkState {
        if let closeAfter, readings.count + batch.count > closeAfter { return .closed }
        readings += batch
        batchSizes.append(batch.count)
        clock.now += delay(batch.count)
        return .open
    }

    func finish() throws {
        finished = true
    }
}

/// Readings of one vehicle at a fixed interval, with the road it was on.
func drive(seed: UInt64, interval: Double, seconds: Double) -> [(speed: Double, measured: Double, road: RoadStretch)] {
    var vehicle = Vehicle(seed: seed)
    var samples: [(speed: Double, measured: Double, road: RoadStretch)] = []
    for _ in 0..<Int(seconds / interval) {
        vehicle.advance(by: interval)
        samples.append((vehicle.speed, vehicle.measuredSpeed(), vehicle.road))
    }
    return samples
}
