import ArgumentParser
import Glibc
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

struct ConsumeStdout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stdout",
        abstract: "Write the readings topic to standard output, as NDJSON or CSV, for pipelines.",
        discussion: """
            One line per valid reading: its canonical JSON ({"sensor_id":"sensor-1","speed":42.5,"ts":1700000000.5}) \
            with --format ndjson, or sensor_id,speed,ts (ts as epoch seconds with fraction) after a header line \
            with --format csv; both read back with `speedo ingest`. Records that are not valid readings are \
            skipped, each with a note on stderr (topic[partition]@offset: reason); they never reach stdout.

            Without --group, every partition of the topic is read from --from (default beginning) by a private \
            consumer that joins no group and commits nothing. With --group, the partitions are shared with the \
            other members of that group; each starts at the group's committed offset, and --from applies only \
            where the group has none (default stored: those start at the beginning). Offsets are committed after \
            the lines they cover were written to stdout: delivery is at least once (after a crash, or a reader \
            that went away, lines may be written again by the next run, never skipped).

            --exit-at-end stops (exit 0) once every partition read (with --group: every partition assigned to \
            this member) has been read to its end; without it, a note on stderr says when that first happens (the \
            lines after it are new). A reader that goes away (`| head`) ends the run with exit 0. \
            SIGINT or SIGTERM writes what was read, commits it (with --group) and exits with 0 (SIGTERM) or \
            130 (SIGINT).

            Examples:
              speedo consume stdout --exit-at-end | jq .speed
                  everything the topic holds, then stop
              speedo consume stdout --from end --format csv
                  follow new readings as CSV
              speedo consume stdout --group archive | gzip >> readings.ndjson.gz
                  resume where the group archive left off
            """
    )

    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    @Option(help: ArgumentHelp("Output format: ndjson or csv.", valueName: "format"))
    var format: ReadingTextFormat = .ndjson

    @Option(help: ArgumentHelp(
        "Where to start: beginning, end, or stored (the group's committed offsets).",
        discussion: "Default: beginning without --group, stored with it. With --group, beginning and end apply "
            + "only to partitions without a committed offset.",
        valueName: "position"))
    var from: StartPosition?

    @Option(help: ArgumentHelp(
        "Read as a member of this consumer group and commit offsets after writing (at least once).",
        valueName: "id"))
    var group: String?

    @Flag(help: "Stop (exit 0) once every partition read has been read to its end.")
    var exitAtEnd = false

    func validate() throws {
        if let group, group.isEmpty { throw ValidationError("--group must not be empty") }
        if group == nil, from == .stored {
            throw ValidationError("--from stored needs --group (a private consumer has no stored offsets)")
        }
    }

    func run() async throws {
        let resolved = try kafka.resolved()
        var configuration = KafkaConfiguration(resolved)
        let start = from ?? (group == nil ? .beginning : .stored)
        // In a group, where a partition without a committed offset starts; -X still overrides it.
        configuration.properties.insert(("auto.offset.reset", start == .end ? "latest" : "earliest"), at: 0)
        let (consumer, interrupts) = try kafka.consuming(
            configuration, topic: resolved.topic.value, exitAtEnd: exitAtEnd,
            consequence: "records after the offsets last committed are written again by the next run of this group")
        let settings = StdoutPumpSettings(consumer: consumer, group: group, start: start, format: format)
        // A reader that goes away must show up as EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        let outcome = try await runOnDedicatedThread(name: "speedo.consume") {
            var pump = StdoutPump(settings: settings)
            return try pump.run()
        }
        if outcome == .stopped {
            try interrupts.endCleanStop("speedo consume stdout: stopped on a signal; what was read was written")
        }
    }
}

extension ReadingTextFormat: ExpressibleByArgument {}
extension StartPosition: ExpressibleByArgument {}
