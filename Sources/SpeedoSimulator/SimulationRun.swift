package import SpeedoCore

/// Why a run ended without an error.
package enum SimulationEnding: Sendable, Equatable {
    /// `--count` or `--duration` reached.
    case completed
    /// Stopped on request (a signal); everything produced was delivered.
    case interrupted
    /// The reader closed its end.
    case outputClosed
}

/// Behind or back on schedule again, reported on change only.
package enum PaceChange: Sendable, Equatable {
    case fellBehind(lateness: Duration)
    case caughtUp
}

/// One run of the simulator: the schedule says which readings are due, the fleet makes them, the sink
/// takes them.
package struct SimulationRun<Sink: ReadingSink, Clock: PacingClock> {
    package private(set) var fleet: Fleet
    package private(set) var schedule: EmissionSchedule
    package private(set) var sink: Sink
    package let clock: Clock
    /// The time stamped on reading 0; reading `n` carries `start + schedule.offset(of: n)`.
    package let start: Timestamp
    /// Readings the sink accepted.
    package private(set) var delivered: Int64 = 0
    /// Time since the start when the run ended.
    package private(set) var elapsed: Duration = .zero

    /// A batch this late means the output is not keeping up.
    package var behindThreshold: Duration
    private var isBehind = false

    /// What the run achieved so far against the rate asked for.
    package var summary: RunSummary {
        RunSummary(readings: delivered, elapsed: elapsed, targetRate: schedule.totalRate)
    }

    package init(fleet: Fleet, schedule: EmissionSchedule, sink: Sink, clock: Clock, start: Timestamp) {
        self.fleet = fleet
        self.schedule = schedule
        self.sink = sink
        self.clock = clock
        self.start = start
        behindThreshold = max(schedule.tick * 5, .milliseconds(250))
    }

    /// Runs until the stop condition, an interruption or a closed output; rethrows a failed write
    /// (`delivered` and `elapsed` still say how far it got).
    package mutating func run(
        isInterrupted: () -> Bool, paceChanged: (PaceChange) -> Void = { _ in }
    ) throws -> SimulationEnding {
        var batch: [Reading] = []
        defer { elapsed = clock.elapsed() }
        while true {
            if isInterrupted() {
                try sink.finish()
                return .interrupted
            }
            switch schedule.next(at: clock.elapsed()) {
            case .finished:
                try sink.finish()
                return .completed
            case .wait(let deadline):
                clock.wait(until: deadline)
            case .emit(let indices, let lateness):
                reportPace(lateness, paceChanged)
                batch.removeAll(keepingCapacity: true)
                let start = self.start, schedule = self.schedule
                fleet.readings(indices, into: &batch) { start + TimeSpan(microseconds: schedule.offset(of: $0).microseconds) }
                if try sink.write(batch) == .closed { return .outputClosed }
                delivered += Int64(batch.count)
            }
        }
    }

    private mutating func reportPace(_ lateness: Duration, _ paceChanged: (PaceChange) -> Void) {
        if !isBehind, lateness > behindThreshold {
            isBehind = true
            paceChanged(.fellBehind(lateness: lateness))
        } else if isBehind, lateness <= schedule.tick * 2 {
            isBehind = false
            paceChanged(.caughtUp)
        }
    }
}

/// What a run achieved against what it was asked for.
package struct RunSummary: Sendable, Equatable {
    package var readings: Int64
    package var elapsed: Duration
    /// Readings per second asked for, all sensors together.
    package var targetRate: Double

    package var achievedRate: Double {
        elapsed > .zero ? Double(readings) / elapsed.inSeconds : 0
    }

    /// Relative deviation of the achieved rate from the target, in percent (negative: too slow).
    package var rateErrorPercent: Double {
        (achievedRate - targetRate) / targetRate * 100
    }
}
