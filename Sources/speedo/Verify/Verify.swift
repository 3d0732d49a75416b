import ArgumentParser
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check that the history in PostgreSQL is exactly what the readings topic holds.",
        discussion: """
            Reads the readings topic over the range (every partition, from the range's start to its end as of now, \
            so records that arrived late count too) and speed_readings over the same range, and reports each \
            disagreement on stdout:
              missing            a valid record the writer passed has no row
              mismatch           a row's speed is not its record's
              unknown-origin     a row that no record of the topic produced
              not-dead-lettered  an invalid (or conflicting) record the writer passed
                                 is not on the dead-letter topic, <topic>.dlq
              offset-beyond-end  the group's stored offset is beyond a partition's end
                                 (was the topic recreated?)
              conflict           records of one sensor and time with different speeds:
                                 the history keeps the first (listed, not a disagreement)

            Records at or after the offsets --group stored are not yet written: they are counted as lag, not as \
            missing. Rows older than the first record a partition still holds (the rest was removed by retention) \
            cannot be checked and are counted. A summary line ends every run, on stderr.

            Exit status: 0 when history and topic agree, 1 when they do not, 69 when a broker or the database \
            stayed unavailable.

            Examples:
              speedo verify --since 1d
              speedo verify --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z --format ndjson | jq .
              speedo verify --sensor sensor-1 --sensor sensor-2
            """
    )

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Start of the range (inclusive), written as for replay (default: everything the topic holds).",
            valueName: "time"))
    var since = "@0"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("End of the range (exclusive), written like --since.", valueName: "time"))
    var until = "now"

    @Option(name: .customLong("sensor"), help: ArgumentHelp(
        "Only this sensor's readings and rows (repeatable; default: all).", valueName: "id"))
    var sensors: [String] = []

    @Option(help: ArgumentHelp(
        "The consume postgres group whose stored offsets say how far the history is written.", valueName: "id"))
    var group = ConsumeSettings.historyGroup

    @Option(help: "Format of the findings on stdout.")
    var format = VerifyFormat.table

    @OptionGroup var connection: KafkaAndDatabaseOptions

    func validate() throws {
        _ = try range(now: Timestamp.current())
    }

    private func range(now: Timestamp) throws -> (since: Timestamp, until: Timestamp) {
        try TimeRangeOptions.resolve(since: since, until: until, now: now)
    }

    func run() async throws {
        let (since, until) = try range(now: Timestamp.current())
        let session = VerifySession(
            connection: try connection.resolved(), since: since,
            until: until, sensors: Set(sensors), group: group, connectTimeout: try connection.kafka.startupWait())
        let interrupts = InterruptWatcher()
        let report = try await session.run(stop: interrupts.stop, notes: .standardError)
        guard let report else { throw CommandFailure(.interrupted, "verify stopped by a signal") }
        print(report.rendered(format), terminator: "")
        Notes.standardError.note(report.summary)
        if !report.isConsistent { throw CommandFailure(.inconsistent, "") }
    }
}

extension VerifyFormat: ExpressibleByArgument {}
