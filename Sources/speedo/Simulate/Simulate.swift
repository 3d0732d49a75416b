import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
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
            batch is written) or SIGTERM (exit 0). A summary on stderr compares the achieved rate with the target.

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

    @OptionGroup(title: "Kafka (the default output)") var kafka: KafkaClientOptions

    @OptionGroup(title: "Publishing") var publishing: PublishingOptions

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
        do {
            _ = try SimulationSession.firstTimestamp(start: start, now: Timestamp.current())
        } catch {
            throw ValidationError("--start: \(error)")
        }
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

    func run() throws {
        let output: SimulationSession.Output
        if toStandardOutput {
            output = .standardOutput
        } else if let via {
            output = .ingestionAPI(url: try ingestionURL(via), batchSize: batch ?? Self.defaultBatch)
        } else {
            output = .kafka(try kafka.resolved(), try publishing.settings(kafka: kafka))
        }
        let session = SimulationSession(
            sensors: sensors, prefix: prefix, ratePerSensor: rate, stopCondition: try stopCondition(),
            seed: seed ?? UInt64.random(in: 1...999_999_999), start: start, output: output)
        let interrupts = InterruptWatcher()
        if try session.run(stop: interrupts.stop, notes: .standardError) == .interrupted {
            try interrupts.endCleanStop(nil)
        }
    }
}
