import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka

/// The background half of `speedo dev up`: keeps a mock Kafka cluster alive until SIGTERM.
struct ServeBroker: ParsableCommand {
    static let commandName = "serve-broker"
    static let configuration = CommandConfiguration(
        commandName: commandName,
        abstract: "Serve the dev stack's mock Kafka cluster until terminated (started by `dev up`).",
        shouldDisplay: false
    )

    @Option(help: "The dev stack's state directory.")
    var stateDirectory: String

    @Option(parsing: .unconditional, help: "How many mock brokers to run.")
    var brokers = 1

    @Option(parsing: .unconditional, help: "Partitions of the readings topic.")
    var partitions: Int32 = 6

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
        try stack.writeBrokerRecord(
            .init(pid: getpid(), bootstrapServers: cluster.bootstrapServers, startedAt: Date()))
        Terminal.note("speedo dev broker: mock Kafka cluster listening on \(cluster.bootstrapServers)")

        var wake = pollfd(fd: interrupts.wakeDescriptor, events: Int16(POLLIN), revents: 0)
        while !interrupts.isInterrupted {
            _ = poll(&wake, 1, -1)
        }
        stack.removeBrokerRecord()
        Terminal.note("speedo dev broker: stopping on signal \(interrupts.signal ?? 0)")
        withExtendedLifetime(cluster) {}
    }
}
