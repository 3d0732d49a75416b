import ArgumentParser
import Glibc
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-read the readings topic over a time range: to stdout, into PostgreSQL, or onto another topic.",
        discussion: """
            Each partition starts at its first record stamped at or after --since (offsets-for-times; where the \
            brokers cannot answer, as librdkafka's mock cluster cannot, the partition is scanned from its start), \
            and ends at its first record stamped at or after --until or at the end it had when the replay began, \
            so a replay ends even while new readings arrive. Partitions are assigned by hand: no consumer group \
            is joined and no offset is committed anywhere. Readings outside [--since, --until) by their own ts, of \
            other sensors than --sensor, or that are not valid readings, are skipped.

            --to stdout (default): canonical NDJSON or CSV (--format). --to postgres: rows go through the same \
            writer as `speedo consume postgres`, whose INSERT … ON CONFLICT (sensor_id, ts) DO NOTHING keeps \
            what is already stored; a replay stores no Kafka offsets, so the offsets of the consume postgres \
            groups are never moved and replaying twice changes nothing. --to topic:NAME: re-published with the \
            same key, value and timestamp.

            --pace 1x re-emits at the recorded cadence, Nx N times faster (readings of all partitions in time \
            order: the range is read first, then played back), max as fast as possible (default). Progress is \
            shown on stderr when it is a terminal; a summary line ends every run.

            Examples:
              speedo replay --since 1h --sensor sensor-1 --format csv
              speedo replay --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z --to postgres
              speedo replay --since 10m --to topic:speed-demo --pace 1x
                  watch a recorded drive again live (speedo watch -t speed-demo)
            """
    )

    @OptionGroup(title: "Time range") var range: TimeRangeOptions

    @Option(name: .customLong("sensor"), help: ArgumentHelp(
        "Only this sensor's readings (repeatable; default: all).", valueName: "id"))
    var sensors: [String] = []

    @Option(help: ArgumentHelp("stdout, postgres or topic:NAME.", valueName: "target"))
    var to = ReplayTarget.standardOutput

    @Option(parsing: .unconditional, help: ArgumentHelp("max, or the recorded cadence sped up: 1x, 10x, 0.5x (from 0.001x to 1000000x).", valueName: "pace"))
    var pace = ReplayPace.asFastAsPossible

    @Option(help: "Format on stdout.")
    var format = ReadingTextFormat.ndjson

    @OptionGroup var connection: KafkaAndDatabaseOptions

    func validate() throws {
        _ = try range.resolve(now: Timestamp.current())
        if case .recorded(let speedUp) = pace {
            try OptionBounds.check(speedUp, "--pace", 0.001...1_000_000, shown: "\(speedUp)x")
        }
        if case .topic(let name) = to, name.isEmpty { throw ValidationError("--to topic:NAME needs a topic name") }
    }

    func run() async throws {
        let (since, until) = try range.resolve(now: Timestamp.current())
        let session = ReplaySession(
            connection: try connection.resolved(), since: since, until: until,
            sensors: Set(sensors), target: to, pace: pace, format: format,
            publishing: PublishingSettings(
                partitions: PublishingOptions.defaultPartitions, connectTimeout: try connection.kafka.startupWait()))
        let interrupts = InterruptWatcher()
        try await runOnDedicatedThread(name: "speedo.replay") {
            try session.run(stop: interrupts.stop, notes: .standardError)
        }
        if interrupts.isInterrupted { throw CommandFailure(.interrupted, "replay stopped by a signal") }
    }
}
