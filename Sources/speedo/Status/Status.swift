import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show brokers, topics, consumer lag and what PostgreSQL holds.",
        discussion: """
            Kafka: the brokers, every topic with its partitions and watermarks, and for each consumer group \
            whose offsets speedo keeps in PostgreSQL, how far it lags behind. PostgreSQL: the schema \
            version, the number of readings, and the time range of the sensors with the most readings.

            Both parts are tried for at most --timeout; when one cannot be reached, the other is still \
            shown, the unreachable one is named, and the exit code is 69.

            What the history could not hold is shown too: gaps (records the brokers removed before the writer \
            read them: `speedo db gaps`), conflicting readings, and stored offsets that point behind the log start \
            (a gap about to be recorded) or beyond a partition's end (the topic was recreated: `speedo db \
            reset-offsets`).

            --check prints one line for monitoring (Nagios, Icinga, Sensu and their kin) and exits with their \
            codes: 0 OK; 1 WARNING: conflicting readings were recorded; 2 CRITICAL: a gap not acknowledged, or \
            stored offsets behind the log start or beyond the end; 3 UNKNOWN: Kafka or PostgreSQL unreachable.
            """
    )

    @OptionGroup(title: "Kafka")
    var kafka: KafkaOptions

    @OptionGroup(title: "PostgreSQL")
    var database: DatabaseOptions

    @Option(parsing: .unconditional, help: "How many sensors to list (0 to 100000), those with the most readings first.")
    var top = 10

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to keep retrying an unreachable broker or database.", valueName: "duration"))
    var timeout = "10s"

    @Flag(help: "One line and a monitoring-plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for checks.")
    var check = false

    func validate() throws {
        try OptionBounds.check(top, "--top", 0...100_000)
        _ = try parsedTimeout()
    }

    private func parsedTimeout() throws -> Duration {
        try OptionBounds.duration(timeout, "--timeout", .milliseconds(1)...TimeSpan.hours(1)).duration
    }

    func run() throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: database)
        let timeout = try parsedTimeout()
        var unreachable: [String] = []

        let kafkaReport = KafkaStatusReport.gather(settings: settings, timeout: timeout)
        let storeReport = StoreStatusReport.gather(settings: settings, timeout: timeout, top: top, notes: .standardError)
        if check { throw ExitCode(Self.check(kafkaReport, storeReport)) }

        print(kafkaReport.render(lagFrom: storeReport.consumerOffsets).joined(separator: "\n"))
        print("")
        print(storeReport.render().joined(separator: "\n"))

        if kafkaReport.failure != nil { unreachable.append("Kafka at \(settings.brokers.value)") }
        if storeReport.failure != nil { unreachable.append("PostgreSQL") }
        if !unreachable.isEmpty {
            throw CommandFailure(
                .unavailable, "could not reach \(unreachable.joined(separator: " or ")) within \(timeout) (details above)")
        }
    }

    /// Prints the one line of `--check` and returns its exit code.
    private static func check(_ kafka: KafkaStatusReport, _ store: StoreStatusReport) -> Int32 {
        let (code, words): (Int32, String)
        if let failure = kafka.failure ?? store.failure {
            (code, words) = (3, "UNKNOWN - \(failure)")
        } else {
            let missing = store.gaps.reduce(Int64(0)) { $0 + $1.recordCount }
            let troubles = kafka.troubles(in: store.consumerOffsets)
                + (store.gaps.isEmpty ? [] : ["\(count(store.gaps.count, "gap")) not acknowledged (\(grouped(missing)) "
                    + "records missing from the history; `speedo db gaps`)"])
            if !troubles.isEmpty {
                (code, words) = (2, "CRITICAL - " + troubles.joined(separator: "; "))
            } else if store.conflicts > 0 {
                (code, words) = (1, "WARNING - \(count(store.conflicts, "conflicting reading")) recorded (the last at "
                    + "\(store.lastConflict?.rfc3339 ?? "?"))")
            } else {
                (code, words) = (0, "OK - \(grouped(store.readings)) readings, no gaps, no conflicts")
            }
        }
        print("SPEEDO \(words) | readings=\(store.readings) gaps=\(store.gaps.count) conflicts=\(store.conflicts)")
        return code
    }
}
