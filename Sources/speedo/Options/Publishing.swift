import ArgumentParser
import SpeedoCore
import SpeedoPipeline

/// How readings reach Kafka: shared by every command that publishes them (`ingest`, `simulate`).
struct PublishingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: ArgumentHelp("Partitions of the topic when it has to be created, 1 to 10000.", valueName: "n"))
    var partitions: Int32 = defaultPartitions

    static let defaultPartitions: Int32 = 6

    func validate() throws {
        try OptionBounds.check(partitions, "--partitions", 1...10_000)
    }

    func settings(kafka: KafkaClientOptions) throws -> PublishingSettings {
        PublishingSettings(partitions: partitions, connectTimeout: try kafka.startupWait())
    }
}
