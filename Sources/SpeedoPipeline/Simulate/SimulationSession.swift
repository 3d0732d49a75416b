package import Foundation
package import SpeedoCore
import SpeedoKafka
package import SpeedoRuntime
package import SpeedoSimulator

/// One `speedo simulate`: a fleet paced against the real clock into standard output, the ingestion API or Kafka,
/// with a summary that compares the achieved rate with the target.
package struct SimulationSession: Sendable {
    package enum Output: Sendable {
        case standardOutput
        /// POSTed as JSON arrays of `batchSize` readings to a `speedo ingest --listen`.
        case ingestionAPI(url: URL, batchSize: Int)
        case kafka(ConnectionSettings, PublishingSettings)
    }

    package var sensors: Int
    package var prefix: String
    package var ratePerSensor: Double
    package var stopCondition: StopCondition?
    package var seed: UInt64
    /// `--start` as given: nil is now.
    package var start: String?
    package var output: Output

    package init(
        sensors: Int, prefix: String, ratePerSensor: Double, stopCondition: StopCondition?, seed: UInt64,
        start: String?, output: Output
    ) {
        self.sensors = sensors
        self.prefix = prefix
        self.ratePerSensor = ratePerSensor
        self.stopCondition = stopCondition
        self.seed = seed
        self.start = start
        self.output = output
    }

    /// The time stamped on the first reading, checked against the event contract so that every reading of the run is
    /// valid: `start` read at `now` (a duration back from now, an RFC 3339 time or @EPOCH), or `now`.
    package static func firstTimestamp(start: String?, now: Timestamp) throws -> Timestamp {
        guard let start else { return now }
        let time = try TimeExpression.parse(start, now: now)
        return try Reading.validated(sensorID: "start", speed: 0, timestamp: time, now: now).timestamp
    }

    /// Blocks until the run completes, the reader closes standard output, or `stop` is requested (then it returns
    /// `.interrupted` after delivering what was produced). Throws `CommandFailure(.notDelivered)` when Kafka did not
    /// confirm every reading.
    package func run(stop: StopRequest, notes: Notes) throws -> SimulationEnding {
        // A reader that closes the pipe shows up as EPIPE from write(), handled as the end of the run.
        signal(SIGPIPE, SIG_IGN)
        let fleet = try Fleet(sensors: sensors, prefix: prefix, seed: seed, ratePerSensor: ratePerSensor)
        let schedule = EmissionSchedule(sensors: sensors, ratePerSensor: ratePerSensor, stop: stopCondition)
        switch output {
        case .standardOutput:
            return try drive(StandardOutputSink(), fleet: fleet, schedule: schedule, stop: stop, notes: notes)
        case .ingestionAPI(let url, let batchSize):
            let sink = HTTPReadingSink(url: url, batchSize: batchSize, isInterrupted: { stop.isRequested }, notes: notes)
            return try drive(sink, fleet: fleet, schedule: schedule, stop: stop, notes: notes)
        case .kafka(let connection, let publishing):
            let tally = DeliveryTally(inputNames: ["simulated reading"], notes: notes)
            let publisher = try ReadingPublisher.connected(
                settings: connection, options: publishing, command: "simulate", stop: stop, notes: notes,
                defaults: ReadingPublisher.liveProducerDefaults, deliveryHandler: tally.record)
            let sink = KafkaReadingSink(publisher: publisher, tally: tally, stop: stop)
            let ending = try drive(sink, fleet: fleet, schedule: schedule, stop: stop, notes: notes)
            notes.note(
                "speedo simulate: \(grouped(publisher.confirmedCount)) readings confirmed by the broker, "
                    + "\(grouped(tally.failedCount)) not confirmed")
            if tally.failedCount > 0 {
                throw CommandFailure(
                    .notDelivered, "\(grouped(tally.failedCount)) readings were not confirmed by the broker (see above)")
            }
            return ending
        }
    }

    private func drive(
        _ sink: some ReadingSink, fleet: Fleet, schedule: EmissionSchedule, stop: StopRequest, notes: Notes
    ) throws -> SimulationEnding {
        // Read together, so that reading 0 is stamped with the moment the pacing clock starts.
        let clock = MonotonicPacingClock()
        let first = try Self.firstTimestamp(start: start, now: Timestamp.current())
        var run = SimulationRun(fleet: fleet, schedule: schedule, sink: sink, clock: clock, start: first)
        let ending: SimulationEnding
        do {
            ending = try run.run(isInterrupted: { stop.isRequested }, paceChanged: { Self.report($0, notes: notes) })
        } catch {
            notes.note(summary(of: run, ending: "stopped by the error below"))
            throw error
        }
        switch ending {
        case .completed: notes.note(summary(of: run, ending: nil))
        case .outputClosed: notes.note(summary(of: run, ending: "the reader closed standard output"))
        case .interrupted: notes.note(summary(of: run, ending: "interrupted"))
        }
        return ending
    }

    private static func report(_ change: PaceChange, notes: Notes) {
        switch change {
        case .fellBehind(let lateness):
            notes.note(
                "speedo simulate: the output is not keeping up: readings are \(format(lateness)) late; "
                    + "catching up in bigger batches")
        case .caughtUp:
            notes.note("speedo simulate: back on schedule")
        }
    }

    private func summary(of run: SimulationRun<some ReadingSink, MonotonicPacingClock>, ending: String?) -> String {
        let figures = run.summary
        var text = "speedo simulate: \(figures.readings) readings from \(sensors) sensors in \(Self.format(figures.elapsed)): "
        text += "\(Self.format(rate: figures.achievedRate))/s (target \(Self.format(rate: figures.targetRate))/s, "
        text += "rate error \(String(format: "%+.2f", figures.rateErrorPercent)) %)"
        if run.schedule.maximumLateness > run.behindThreshold {
            text += ", at worst \(Self.format(run.schedule.maximumLateness)) behind schedule"
        }
        if let ending { text += "; \(ending)" }
        text += "; seed \(seed)"
        return text
    }

    private static func format(_ duration: Duration) -> String {
        String(format: "%.2f s", duration.inSeconds)
    }

    private static func format(rate: Double) -> String {
        rate >= 100 ? String(format: "%.0f", rate) : String(format: "%.2f", rate)
    }
}
