import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline

/// How to reach Kafka: shared by every command that reads or writes a topic.
struct KafkaOptions: ParsableArguments {
    @Option(
        name: [.customShort("b"), .long],
        help: ArgumentHelp(
            "Kafka bootstrap servers, host:port[,host:port…].",
            discussion: "Default: $SPEEDO_BROKERS, then the running dev stack (`speedo dev up`), then localhost:9092.",
            valueName: "host:port"))
    var brokers: String?

    @Option(
        name: [.customShort("t"), .long],
        help: ArgumentHelp(
            "The readings topic.",
            discussion: "Default: $SPEEDO_TOPIC, then speed-events.",
            valueName: "name"))
    var topic: String?

    @Option(
        name: .customShort("X"),
        help: ArgumentHelp(
            "A librdkafka property, repeatable (as in kcat).",
            discussion: "This is how SASL and SSL are set, e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN.",
            valueName: "key=value"))
    var properties: [String] = []

    /// Every `-X` checked against librdkafka and speedo's producer guarantees before anything connects.
    func validate() throws {
        do {
            try KafkaConfiguration.check(properties: properties.map { argument in
                let property = try KafkaProperty.parse(argument)
                return (property.key, property.value)
            })
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// How a command that publishes or consumes reaches Kafka: the brokers, topic and `-X` of every Kafka command, and
/// `--connect-timeout`, one rule (`KafkaHandle.connect`) for how long it waits for a broker at startup.
struct KafkaClientOptions: ParsableArguments {
    @OptionGroup var cluster: KafkaOptions

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "How long to keep retrying when no broker answers at startup (e.g. 30s, 2m; at most 24h).", valueName: "duration"))
    var connectTimeout = "30s"

    func validate() throws {
        _ = try startupWait()
    }

    /// `--connect-timeout` as a duration.
    func startupWait() throws -> Duration {
        try OptionBounds.duration(connectTimeout, "--connect-timeout", .seconds(0)...TimeSpan.hours(24)).duration
    }
}

/// How to reach PostgreSQL: shared by every command that reads or writes history.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: [.customShort("d"), .long],
        help: ArgumentHelp(
            "PostgreSQL connection URL or conninfo string.",
            discussion: """
                Default: $SPEEDO_DATABASE_URL, then $DATABASE_URL, then libpq's own PG* variables, \
                then the running dev stack.
                """,
            valueName: "url"))
    var databaseURL: String?
}

extension ConnectionSettings {
    /// Resolves flags against the environment and the running dev stack (flag > environment > dev stack > default).
    static func resolve(kafka: KafkaOptions?, database: DatabaseOptions?) throws -> ConnectionSettings {
        let environment = ProcessInfo.processInfo.environment
        return try resolve(
            brokersFlag: kafka?.brokers,
            databaseURLFlag: database?.databaseURL,
            topicFlag: kafka?.topic,
            kafkaPropertyArguments: kafka?.properties ?? [],
            environment: environment,
            devStack: DevStack.located(environment: environment).runningEndpoints()
        )
    }
}
