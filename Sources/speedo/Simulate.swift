import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoSimulator

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate vehicles passing speed sensors and send their readings.",
        discussion: """
            Each sensor watches one simulated car: its driver cruises near the limit of the road \
            (urban 50, arterial 70, rural 90-100, motorway 120-130 km/h), brakes for lights, stop signs \
            and traffic, and accelerates within what a car can do. Readings are paced against the clock: \
            --rate per sensor, spread evenly over each second, with `ts` the time each reading was due.

            The same --seed (and --start) gives byte-identical output; the seed is printed at the end of \
            every run. Without --duration or --count the run goes on until Ctrl-C (exit 130 after the last \
            batch is written). A summary on stderr compares the achieved rate with the target.

            By default the readings are published to Kafka (key = sensor_id, idempotent, acks=all), \
            like `speedo ingest` does; --stdout writes them as NDJSON instead, --via POSTs them to a \
            running `speedo ingest --listen`. Exit code 75 when the broker did not confirm every reading.

            Examples:
              speedo simulate --sensors 20
              speedo simulate --sensors 2000 --rate 10 --duration 10m
              speedo simulate --sensors 20 --stdout | speedo ingest
              speedo simulate --sensors 5 --count 100 --seed 7 --stdout > drive.ndjson
              speedo simulate --sensors 50 --rate 2 --via http://127.0.0.1:8080/speed
            """
    )

    @Option(parsing: .unconditional, help: "How many sensors to simulate, one vehicle each (1 to 1000000).")
    var sensors: Int

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Readings per second from each sensor, from 0.0001 (one in under 3 hours) to 1000.", valueName: "hz"))
    var rate = 1.0

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Stop after this long (500ms, 90s, 15m, 1h), up to 36500d.", valueName: "duration"))
    var duration: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Stop after this many readings in total (all sensors).", valueName: "n"))
    var count: Int64?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seed of the simulation; the same seed repeats the same drive.", discussion: "Default: random, printed in the summary."))
    var seed: UInt64?

    @Option(help: ArgumentHelp("Sensor ids are <prefix>0 to <prefix>N-1.", valueName: "text"))
    var prefix = "sensor-"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Time stamped on the first reading.",
            discussion: "A duration back from now (1h), an RFC 3339 time or @EPOCH. Default: now. Pacing stays real-time.",
            valueName: "time"))
    var start: String?

    @Flag(name: .customLong("stdout"), help: "Write the readings to stdout as NDJSON, one canonical JSON object per line.")
    var toStandardOutput = false

    @Option(help: ArgumentHelp("POST the readings as JSON arrays to the ingestion API at this URL.", valueName: "url"))
    var via: String?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Readings per POST with --via, 1 to 100000 (default: \(Self.defaultBatch)).", valueName: "n"))
    var batch: Int?

    @OptionGroup(title: "Kafka (the default output)")
    var kafka: KafkaOptions

    @OptionGroup(title: "Publishing")
    var publishing: PublishingOptions

    static let defaultBatch = 500
    /// Beyond this, a typo (an extra zero) is more likely than a wish.
    static let largestTotalRate = 10_000_000.0
    /// Readings are stamped to the microsecond, and one sensor's must stay distinct (they are a primary key
    /// in PostgreSQL): a millisecond apart leaves room for the spreading of sensors over a period.
    static let largestRatePerSensor = 1_000.0
    /// A reading every 10,000 s; slower ones would make the pacing periods overflow long before they mattered.
    static let smallestRatePerSensor = 0.0001

    func validate() throws {
        try OptionBounds.check(sensors, "--sensors", 1...1_000_000)
        try OptionBounds.check(
            rate, "--rate", Self.smallestRatePerSensor...Self.largestRatePerSensor,
            hint: rate > Self.largestRatePerSensor ? "; --rate is per sensor: for more readings per second, add --sensors" : "")
        guard Double(sensors) * rate <= Self.largestTotalRate else {
            throw ValidationError(
                "--sensors \(sensors) at --rate \(rate) is more than \(Int(Self.largestTotalRate)) readings/s in total; "
                    + "lower one of them")
        }
        if duration != nil, count != nil {
            throw ValidationError(
                "--duration and --count both end the run: give one of them, or neither to run until Ctrl-C")
        }
        if let count { try OptionBounds.check(count, "--count", 1...) }
        _ = try stopCondition()
        switch (toStandardOutput, via) {
        case (true, .some):
            throw ValidationError("--stdout and --via are two outputs: choose one")
        default:
            break
        }
        if let via { _ = try ingestionURL(via) }
        if let batch {
            guard via != nil else { throw ValidationError("--batch sets the readings per POST and needs --via URL") }
            try OptionBounds.check(batch, "--batch", 1...100_000)
        }
        do {
            _ = try Fleet.sensorIDs(sensors: sensors, prefix: prefix)
        } catch {
            throw ValidationError("--prefix \(EscapedText.quoted(prefix)) does not make valid sensor ids: \(error)")
        }
        _ = try firstTimestamp(now: Timestamp.current())
    }

    private func stopCondition() throws -> StopCondition? {
        if let count { return .count(count) }
        guard let duration else { return nil }
        return .duration(try OptionBounds.duration(duration, "--duration", .milliseconds(1)...TimeSpan.days(36_500)).duration)
    }

    private func ingestionURL(_ text: String) throws -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host != nil
        else {
            throw ValidationError(
                "--via needs the http:// or https:// URL of the ingestion API, e.g. http://127.0.0.1:8080/speed "
                    + "(got \(EscapedText.quoted(text)))")
        }
        return url
    }

    /// `--start`, checked against the event contract so that every reading of the run is valid.
    private func firstTimestamp(now: Timestamp) throws -> Timestamp {
        guard let start else { return now }
        do {
            let time = try TimeExpression.parse(start, now: now)
            return try Reading.validated(sensorID: "start", speed: 0, timestamp: time, now: now).timestamp
        } catch {
            throw ValidationError("--start: \(error)")
        }
    }

    func run() throws {
        // A reader that closes the pipe shows up as EPIPE from write(), handled as the end of the run.
        signal(SIGPIPE, SIG_IGN)
        let seed = seed ?? UInt64.random(in: 1...999_999_999)
        // validate() checked the ids.
        let fleet = try Fleet(sensors: sensors, prefix: prefix, seed: seed, ratePerSensor: rate)
        let schedule = EmissionSchedule(sensors: sensors, ratePerSensor: rate, stop: try stopCondition())
        let interrupts = InterruptWatcher()
        if toStandardOutput || via != nil {
            try drive(try makeSink(interrupts), fleet: fleet, schedule: schedule, seed: seed, interrupts: interrupts)
        } else {
            try publishToKafka(fleet: fleet, schedule: schedule, seed: seed, interrupts: interrupts)
        }
    }

    private func publishToKafka(
        fleet: Fleet, schedule: EmissionSchedule, seed: UInt64, interrupts: InterruptWatcher
    ) throws {
        let tally = DeliveryTally(inputNames: ["simulated reading"])
        let publisher = try ReadingPublisher.connected(
            settings: try ConnectionSettings.resolve(kafka: kafka, database: nil), options: publishing,
            command: "simulate", interrupts: interrupts, deliveryHandler: tally.record)
        let sink = KafkaReadingSink(publisher: publisher, tally: tally, interrupts: interrupts)
        try drive(sink, fleet: fleet, schedule: schedule, seed: seed, interrupts: interrupts)
        Terminal.note(
            "speedo simulate: \(grouped(publisher.confirmedCount)) readings confirmed by the broker, "
                + "\(grouped(tally.failedCount)) not confirmed")
        if tally.failedCount > 0 {
            throw CommandFailure(
                .notDelivered, "\(grouped(tally.failedCount)) readings were not confirmed by the broker (see above)")
        }
    }

    /// The outputs other than Kafka.
    private func makeSink(_ interrupts: InterruptWatcher) throws -> any ReadingSink {
        if let via {
            return HTTPReadingSink(
                url: try ingestionURL(via), batchSize: batch ?? Self.defaultBatch,
                isInterrupted: { interrupts.isInterrupted })
        }
        return StandardOutputSink()
    }

    private func drive(
        _ sink: some ReadingSink, fleet: Fleet, schedule: EmissionSchedule, seed: UInt64, interrupts: InterruptWatcher
    ) throws {
        // Read together, so that reading 0 is stamped with the moment the pacing clock starts.
        let clock = MonotonicPacingClock()
        let start = try firstTimestamp(now: Timestamp.current())
        var run = SimulationRun(fleet: fleet, schedule: schedule, sink: sink, clock: clock, start: start)
        let ending: SimulationEnding
        do {
            ending = try run.run(isInterrupted: { interrupts.isInterrupted }, paceChanged: Self.report)
        } catch {
            Terminal.note(summary(of: run, seed: seed, ending: "stopped by the error below"))
            throw error
        }
        switch ending {
        case .completed:
            Terminal.note(summary(of: run, seed: seed, ending: nil))
        case .outputClosed:
            Terminal.note(summary(of: run, seed: seed, ending: "the reader closed standard output"))
        case .interrupted:
            Terminal.note(summary(of: run, seed: seed, ending: "interrupted"))
            throw ExitCode(SpeedoExitCode.interrupted.rawValue)
        }
    }

    private static func report(_ change: PaceChange) {
        switch change {
        case .fellBehind(let lateness):
            Terminal.note(
                "speedo simulate: the output is not keeping up: readings are \(format(lateness)) late; "
                    + "catching up in bigger batches")
        case .caughtUp:
            Terminal.note("speedo simulate: back on schedule")
        }
    }

    private func summary(
        of run: SimulationRun<some ReadingSink, MonotonicPacingClock>, seed: UInt64, ending: String?
    ) -> String {
        let figures = RunSummary(readings: run.delivered, elapsed: run.elapsed, targetRate: run.schedule.totalRate)
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
