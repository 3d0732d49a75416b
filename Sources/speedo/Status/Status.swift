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

            --check prints one line for monitoring (Nagios, Icinga, Sensu and their kin), with performance data \
            after a |, and exits with their codes: 0 OK; 1 WARNING: conflicting readings were recorded, or a \
            --max-… warning level is passed; 2 CRITICAL: a gap not acknowledged, stored offsets behind the log \
            start or beyond the end, or a --max-… critical level is passed; 3 UNKNOWN: Kafka or PostgreSQL \
            unreachable. Each --max-… takes a warning level, or a warning and a critical level separated by a \
            comma: --max-lag 10000,500000 warns past 10,000 records not stored yet and is critical past 500,000.

            Examples:
              speedo status --check --max-lag 10000,500000 --max-dlq 0 --max-silence 5m,1h
            """
    )

    @OptionGroup(title: "Kafka") var kafka: KafkaOptions

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    @Option(parsing: .unconditional, help: "How many sensors to list (0 to 100000), those with the most readings first.")
    var top = 10

    @Option(parsing: .unconditional, help: ArgumentHelp("How long to keep retrying an unreachable broker or database.", valueName: "duration"))
    var timeout = "10s"

    @Flag(help: "One line and a monitoring-plugin exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), for checks.")
    var check = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "With --check: records the writers have not stored yet, over every partition.", valueName: "warn[,crit]"))
    var maxLag: String?

    @Option(name: .customLong("max-dlq"), parsing: .unconditional, help: ArgumentHelp(
        "With --check: records in the dead-letter topic (the topic plus .dlq).", valueName: "warn[,crit]"))
    var maxDeadLetters: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "With --check: how long a sensor heard from in the last 7 days may stay quiet (durations: 90s, 5m, 1h).",
        valueName: "warn[,crit]"))
    var maxSilence: String?

    func validate() throws {
        try OptionBounds.check(top, "--top", 0...100_000)
        _ = try parsedTimeout()
        if !check, let given = [("--max-lag", maxLag), ("--max-dlq", maxDeadLetters), ("--max-silence", maxSilence)]
            .first(where: { $0.1 != nil })
        {
            throw ValidationError("\(given.0) goes with --check (it sets a level of the check's verdict)")
        }
        _ = try thresholds()
    }

    private func thresholds() throws -> StatusCheck {
        StatusCheck(
            maxLag: try maxLag.map { try Self.levels($0, "--max-lag") { try Self.records($0, "--max-lag") } },
            maxDeadLetters: try maxDeadLetters.map {
                try Self.levels($0, "--max-dlq") { try Self.records($0, "--max-dlq") }
            },
            maxSilence: try maxSilence.map {
                try Self.levels($0, "--max-silence") {
                    try OptionBounds.duration($0, "--max-silence", .seconds(1)...StatusCheck.silenceHorizon)
                }
            })
    }

    /// `warn` or `warn,crit`, the critical level not below the warning one.
    private static func levels<Value: Comparable & Sendable>(
        _ text: String, _ option: String, _ parse: (String) throws -> Value
    ) throws -> StatusCheck.Threshold<Value> {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else {
            throw ValidationError("\(option) takes a warning level, or a warning and a critical level: warn[,crit] (got \(text))")
        }
        let warning = try parse(parts[0])
        let critical = try parts.dropFirst().first.map(parse)
        if let critical, critical < warning {
            throw ValidationError("\(option): the critical level \(parts[1]) is below the warning level \(parts[0])")
        }
        return StatusCheck.Threshold(warning: warning, critical: critical)
    }

    private static func records(_ text: String, _ option: String) throws -> Int64 {
        guard let value = Int64(text) else {
            throw ValidationError("\(option) takes whole numbers of records: warn[,crit] (got \(text))")
        }
        return try OptionBounds.check(value, option, 0...Int64(1) << 53)
    }

    private func parsedTimeout() throws -> Duration {
        try OptionBounds.duration(timeout, "--timeout", .milliseconds(1)...TimeSpan.hours(1)).duration
    }

    func run() throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: database)
        let timeout = try parsedTimeout()
        var unreachable: [String] = []

        let kafkaReport = KafkaStatusReport.gather(settings: settings, timeout: timeout)
        let checking = try thresholds()
        let storeReport = StoreStatusReport.gather(
            settings: settings, timeout: timeout, top: top,
            lastSeenWithin: check && checking.maxSilence != nil ? StatusCheck.silenceHorizon : nil, notes: .standardError)
        if check {
            let (state, line) = checking.evaluate(
                kafkaReport, storeReport, deadLetterTopic: ConnectionSettings.deadLetterTopic(for: settings.topic.value),
                now: Timestamp(seconds: Date().timeIntervalSince1970) ?? Timestamp(microseconds: 0))
            print(line)
            throw ExitCode(state.rawValue)
        }

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

}
