import ArgumentParser
import SpeedoCore
import SpeedoPipeline

/// How readings reach Kafka: shared by every command that publishes them (`ingest`, `simulate`).
struct PublishingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Partitions of the topic when it has to be created, 1 to 10000.", valueName: "n"))
    var partitions: Int32 = defaultPartitions

    static let defaultPartitions: Int32 = 6

    @OptionGroup var connection: ConnectTimeoutOption

    func validate() throws {
        try OptionBounds.check(partitions, "--partitions", 1...10_000)
    }

    func settings() throws -> PublishingSettings {
        PublishingSettings(partitions: partitions, connectTimeout: try connection.duration())
    }
}

/// `--connect-timeout`, for every command that publishes or consumes: one rule (`KafkaHandle.connect`) for how long
/// a command waits for a broker at startup.
struct ConnectTimeoutOption: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).", valueName: "duration"))
    var connectTimeout = "30s"

    func validate() throws {
        _ = try duration()
    }

    func duration() throws -> Duration {
        try OptionBounds.duration(connectTimeout, "--connect-timeout", .seconds(0)...TimeSpan.hours(24)).duration
    }
}
