import ArgumentParser
import SpeedoCore
import SpeedoPipeline

/// How readings reach Kafka: shared by every command that publishes them (`ingest`, `simulate`).
struct PublishingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Partitions of the topic when it has to be created, 1 to 10000.", valueName: "n"))
    var partitions: Int32 = 6

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).", valueName: "duration"))
    var connectTimeout = "30s"

    func validate() throws {
        try OptionBounds.check(partitions, "--partitions", 1...10_000)
        _ = try parsedConnectTimeout()
    }

    func parsedConnectTimeout() throws -> Duration {
        try OptionBounds.duration(connectTimeout, "--connect-timeout", .seconds(0)...TimeSpan.hours(24)).duration
    }

    func settings() throws -> PublishingSettings {
        PublishingSettings(partitions: partitions, connectTimeout: try parsedConnectTimeout(), connectTimeoutAsGiven: connectTimeout)
    }
}
