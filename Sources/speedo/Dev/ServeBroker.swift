import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
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
        let stack = DevStack(directory: stateDirectory)
        let cluster = try MockCluster(brokers: brokers)
        // The mock cluster has no controller to answer CreateTopics, so its topics are made here.
        let events = ConnectionSettings.defaultTopic
        try cluster.createTopic(name: events, partitions: partitions)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: partitions)
        try cluster.createTopic(name: ConnectionSettings.deadLetterTopic(for: events), partitions: 1)
        let listener = try stack.bindBrokerListener()
        TCPForwarder(listener: listener, targetPort: try Self.firstPort(of: cluster.bootstrapServers)).start()
        let address = DevStack.brokerAddress(port: listener.port)
        try stack.writeBrokerRecord(
            .init(pid: getpid(), bootstrapServers: address, startedAt: Date(), mockBootstrapServers: cluster.bootstrapServers))
        Terminal.note(
            "speedo dev broker: mock Kafka cluster listening on \(cluster.bootstrapServers), reached through \(address)")

        var wake = pollfd(fd: interrupts.stop.wakeDescriptor, events: Int16(POLLIN), revents: 0)
        while !interrupts.isInterrupted {
            _ = poll(&wake, 1, -1)
        }
        stack.removeBrokerRecord()
        Terminal.note("speedo dev broker: stopping on signal \(interrupts.signal ?? 0)")
        withExtendedLifetime(cluster) {}
    }

    private static func firstPort(of bootstrapServers: String) throws -> UInt16 {
        guard let first = bootstrapServers.split(separator: ",").first, let colon = first.lastIndex(of: ":"),
            let port = UInt16(first[first.index(after: colon)...])
        else { throw CommandFailure(.unavailable, "the mock cluster gave no port to forward to: \(bootstrapServers)") }
        return port
    }
}
