import Glibc
package import SpeedoCore
import SpeedoKafka
package import SpeedoRuntime
import SpeedoStore

/// Where `speedo replay` sends what it re-reads.
package enum ReplayTarget: Equatable, Sendable {
    case standardOutput
    case postgres
    case topic(String)
}

/// How fast `speedo replay` re-emits: as fast as it can, or at the recorded cadence sped up `speedUp` times.
package enum ReplayPace: Equatable, Sendable {
    case asFastAsPossible
    case recorded(speedUp: Double)
}

/// One `speedo replay`: reads the range with `TopicRangeReader`, sends it to the target (at once, or held and played back at
/// the recorded pace) and says what it did in one summary line.
package struct ReplaySession: Sendable {
    package var connection: ConnectionSettings
    package var since: Timestamp
    package var until: Timestamp
    /// Empty: every sensor.
    package var sensors: Set<String>
    package var target: ReplayTarget
    package var pace: ReplayPace
    package var format: ReadingTextFormat
    /// Its connect timeout is the source's too; the rest is for `--to topic:NAME`.
    package var publishing: PublishingSettings

    /// The name history rows are written under; used for nothing else, since a replay stores no offsets.
    package static let writerGroup = "speedo-replay"

    package init(
        connection: ConnectionSettings, since: Timestamp, until: Timestamp, sensors: Set<String>, target: ReplayTarget,
        pace: ReplayPace, format: ReadingTextFormat, publishing: PublishingSettings
    ) {
        self.connection = connection
        self.since = since
        self.until = until
        self.sensors = sensors
        self.target = target
        self.pace = pace
        self.format = format
        self.publishing = publishing
    }

    /// Blocks until the range is replayed or `stop` is requested; the summary goes to `notes`.
    package func run(stop: StopRequest, notes: Notes) throws {
        let reader = TopicRangeReader(
            configuration: KafkaConfiguration(connection).preferringBulkReads(), topic: connection.topic.value,
            since: since, until: until, sensors: sensors, connectTimeout: publishing.connectTimeout, stop: stop,
            notes: notes)
        var sink = try makeSink(stop: stop, notes: notes)
        let started = ContinuousClock.now
        let progress = ReplayProgress(notes: notes)
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
            try Self.play(held, speedUp: speedUp, into: &sink, stop: stop)
            playback = ContinuousClock.now - playStarted
        }
        try sink.finish()
        var line = "speedo replay: \(grouped(counts.readings)) readings of \(grouped(counts.records)) records in "
            + (ContinuousClock.now - started).secondsText
        if let playback { line += " (played back over \(playback.secondsText))" }
        if counts.invalid > 0 { line += " (\(grouped(counts.invalid)) invalid records skipped)" }
        if let stored = (sink as? PostgresReplaySink)?.stored {
            line += "; stored \(grouped(stored.rows)) rows (\(grouped(stored.inserted)) new, "
                + "\(grouped(stored.rows - stored.inserted)) already there)"
        }
        notes.note(line)
    }

    private func makeSink(stop: StopRequest, notes: Notes) throws -> any ReadingSink {
        switch target {
        case .standardOutput:
            signal(SIGPIPE, SIG_IGN)
            return StandardOutputSink(format: format)
        case .postgres:
            let writer = HistoryWriter(
                conninfo: connection.databaseURL.value, group: Self.writerGroup, topic: connection.topic.value)
            _ = try writer.connect(retry: Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: .seconds(30))) {
                notes.note("speedo replay: \($0)")
            }
            return PostgresReplaySink(writer: writer)
        case .topic(let name):
            var destination = connection
            destination.topic = ResolvedSetting(name, from: .flag("--to"))
            let tally = DeliveryTally(inputNames: ["replay"], notes: notes)
            let publisher = try ReadingPublisher.connected(
                settings: destination, options: publishing, command: "replay", stop: stop, notes: notes,
                deliveryHandler: tally.record)
            return TopicReplaySink(base: KafkaReadingSink(publisher: publisher, tally: tally, stop: stop))
        }
    }

    /// Re-emits `readings` in time order (stable, so one sensor's order is kept) at their recorded spacing divided
    /// by `speedUp`, measured from the first one, on the monotonic clock (late wake-ups do not add up).
    private static func play(
        _ readings: [Reading], speedUp: Double, into sink: inout any ReadingSink, stop: StopRequest
    ) throws {
        let ordered = readings.enumerated().sorted { ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset) }
        guard let first = ordered.first?.element.timestamp else { return }
        let clock = MonotonicPacingClock()
        for (_, reading) in ordered {
            let due = Duration.microseconds(Int64(Double((reading.timestamp - first).microseconds) / speedUp))
            while clock.elapsed() < due && !stop.isRequested { clock.wait(until: due) }
            if stop.isRequested { return }
            guard try sink.write([reading]) == .open else { return }
        }
    }
}
