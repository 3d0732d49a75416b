import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoStore
import SpeedoTUI

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
        let storeReport = StoreStatusReport.gather(settings: settings, timeout: timeout, top: top)

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
