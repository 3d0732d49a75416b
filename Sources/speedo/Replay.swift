import ArgumentParser
import Glibc
import SpeedoCore
import SpeedoKafka
import SpeedoSimulator
import SpeedoStore

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

    @OptionGroup(title: "Time range")
    var range: TimeRangeOptions

    @Option(name: .customLong("sensor"), help: ArgumentHelp(
        "Only this sensor's readings (repeatable; default: all).", valueName: "id"))
    var sensors: [String] = []

    @Option(help: ArgumentHelp("stdout, postgres or topic:NAME.", valueName: "target"))
    var to = ReplayTarget.standardOutput

    @Option(parsing: .unconditional, help: ArgumentHelp("max, or the recorded cadence sped up: 1x, 10x, 0.5x (from 0.001x to 1000000x).", valueName: "pace"))
    var pace = ReplayPace.asFastAsPossible

    @Option(help: "Format on stdout.")
    var format = ReadingTextFormat.ndjson

    @OptionGroup(title: "Kafka")
    var kafka: KafkaOptions

    @OptionGroup(title: "PostgreSQL")
    var database: DatabaseOptions

    /// The name history rows are written under; used for nothing else, since a replay stores no offsets.
    static let writerGroup = "speedo-replay"

    func validate() throws {
        _ = try range.resolve(now: Timestamp.current())
        if case .recorded(let speedUp) = pace {
            try OptionBounds.check(speedUp, "--pace", 0.001...1_000_000, shown: "\(speedUp)x")
        }
        if case .topic(let name) = to, name.isEmpty { throw ValidationError("--to topic:NAME needs a topic name") }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: database)
        let (since, until) = try range.resolve(now: Timestamp.current())
        let interrupts = InterruptWatcher()
        let reader = ReplayReader(
            configuration: KafkaConfiguration(settings).preferringBulkReads(), topic: settings.topic.value, since: since, until: until,
            sensors: Set(sensors), interrupts: interrupts)
        let (target, pace, format) = (to, pace, format)
        let summary = try await runOnDedicatedThread(name: "speedo.replay") { () throws -> String in
            var sink = try Self.makeSink(target, format: format, settings: settings, interrupts: interrupts)
            let started = ContinuousClock.now
            let progress = ReplayProgress.onTerminal()
            var held: [Reading] = []
            var open = true
            let counts = try reader.run(progress: progress) { batch in
                guard case .recorded = pace else {
                    open = try sink.write(batch) == .open
                    return open
                }
                held += batch
                return true
            }
            progress?.finish()
            var playback: Duration?
            if case .recorded(let speedUp) = pace, open {
                let playStarted = ContinuousClock.now
                try Self.play(held, speedUp: speedUp, into: &sink, interrupts: interrupts)
                playback = ContinuousClock.now - playStarted
            }
            try sink.finish()
            var line = "speedo replay: \(grouped(counts.readings)) readings of \(grouped(counts.records)) records in "
                + Self.seconds(ContinuousClock.now - started)
            if let playback { line += " (played back over \(Self.seconds(playback)))" }
            if counts.invalid > 0 { line += " (\(grouped(counts.invalid)) invalid records skipped)" }
            if let stored = (sink as? PostgresReplaySink)?.stored {
                line += "; stored \(grouped(stored.rows)) rows (\(grouped(stored.inserted)) new, "
                    + "\(grouped(stored.rows - stored.inserted)) already there)"
            }
            return line
        }
        Terminal.note(summary)
        if interrupts.isInterrupted { throw CommandFailure(.interrupted, "replay stopped by a signal") }
    }

    /// `1.234 s`
    private static func seconds(_ duration: Duration) -> String {
        let milliseconds = Int(duration / .milliseconds(1))
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) s"
    }

    private static func makeSink(
        _ target: ReplayTarget, format: ReadingTextFormat, settings: ConnectionSettings,
        interrupts: InterruptWatcher
    ) throws -> any ReadingSink {
        switch target {
        case .standardOutput:
            signal(SIGPIPE, SIG_IGN)
            return StandardOutputSink(format: format)
        case .postgres:
            let writer = HistoryWriter(conninfo: settings.databaseURL.value, group: writerGroup, topic: settings.topic.value)
            _ = try writer.connect(retry: Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: .seconds(30))) {
                Terminal.note("speedo replay: \($0)")
            }
            return PostgresReplaySink(writer: writer)
        case .topic(let name):
            var destination = settings
            destination.topic = ResolvedSetting(name, from: .flag("--to"))
            let tally = DeliveryTally(inputNames: ["replay"])
            let publisher = try ReadingPublisher.connected(
                settings: destination, options: try PublishingOptions.parse([]), command: "replay",
                interrupts: interrupts, deliveryHandler: tally.record)
            return TopicReplaySink(base: KafkaReadingSink(publisher: publisher, tally: tally, interrupts: interrupts))
        }
    }

    /// Re-emits `readings` in time order (stable, so one sensor's order is kept) at their recorded spacing divided
    /// by `speedUp`, measured from the first one, on the monotonic clock (late wake-ups do not add up).
    private static func play(
        _ readings: [Reading], speedUp: Double, into sink: inout any ReadingSink, interrupts: InterruptWatcher
    ) throws {
        let ordered = readings.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }
        guard let first = ordered.first?.element.timestamp else { return }
        let clock = MonotonicPacingClock()
        for (_, reading) in ordered {
            let due = Duration.microseconds(Int64(Double((reading.timestamp - first).microseconds) / speedUp))
            while clock.elapsed() < due && !interrupts.isInterrupted { clock.wait(until: due) }
            if interrupts.isInterrupted { return }
            guard try sink.write([reading]) == .open else { return }
        }
    }
}

/// `--to postgres`: each batch stored by `HistoryWriter` without any offsets (`HistoryBatch.advance` is never
/// called), so a replay never moves where a `consume postgres` group resumes.
final class PostgresReplaySink: ReadingSink {
    private let writer: HistoryWriter
    private(set) var stored = HistoryWriteResult(rows: 0, inserted: 0)

    init(writer: HistoryWriter) {
        self.writer = writer
    }

    func write(_ readings: [Reading]) throws -> SinkState {
        var batch = HistoryBatch()
        for reading in readings { batch.append(reading) }
        let result = try writer.write(batch)
        stored.rows += result.rows
        stored.inserted += result.inserted
        return .open
    }

    func finish() throws {
        writer.close()
    }
}

/// `--to topic:NAME`: `simulate`'s Kafka sink, plus the exit code when the broker did not confirm everything.
struct TopicReplaySink: ReadingSink {
    var base: KafkaReadingSink

    mutating func write(_ readings: [Reading]) throws -> SinkState {
        try base.write(readings)
    }

    func finish() throws {
        try base.finish()
        let failed = base.tally.failedCount
        if failed > 0 {
            throw CommandFailure(.notDelivered, "\(failed) replayed readings were not confirmed by \(base.publisher.topic)")
        }
    }
}
