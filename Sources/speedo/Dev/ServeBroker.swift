import ArgumentParser
import Foundation
import SpeedoPipeline
import SpeedoRuntime

/// The background half of `speedo dev up`: keeps a mock Kafka cluster alive until SIGTERM, reached through a port
/// that stays the same across restarts (the mock picks a new one each time and cannot be told which).
struct ServeBroker: ParsableCommand {
    static let commandName = DevStack.brokerCommandName
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Serve the dev stack's mock Kafka cluster until terminated (started by `dev up`).",
        shouldDisplay: false
    )

    @Option(help: "The dev stack's state directory.")
    var stateDirectory: String

    @Option(parsing: .unconditional, help: "How many mock brokers to run.")
    var brokers = 1

    /// The mock keeps 5 MiB per partition: about 38,000 readings sent one per batch, as a sensor at 1 Hz sends them
    /// (measured by scripts/dev-broker-capacity.sh), which is 10.5 hours of one sensor but 5.3 of two. 64 is the
    /// smallest power of two (so that 2, 4 or 8 history writers split it evenly) under which librdkafka's default
    /// partitioner (CRC32 of the key) gives each of the demo's sensors, sensor-0 to sensor-19, a partition of its own.
    static let defaultPartitions: Int32 = 64

    @Option(parsing: .unconditional, help: "Partitions of the readings and latest-state topics.")
    var partitions = defaultPartitions

    func validate() throws {
        try OptionBounds.check(brokers, "--brokers", 1...16)
        try OptionBounds.check(partitions, "--partitions", 1...10_000)
    }

    func run() throws {
        let interrupts = InterruptWatcher()
        try DevStack(directory: stateDirectory).serveBroker(
            brokers: brokers, partitions: partitions, stop: interrupts.stop, notes: .standardError)
        Terminal.note("speedo dev broker: stopping on signal \(interrupts.signal ?? 0)")
    }
}
