import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

/// How to reach Kafka: shared by every command that reads or writes a topic.
struct KafkaOptions: ParsableArguments {
    @Option(
        name: [.customShort("b"), .long],
        help: ArgumentHelp(
            "Kafka bootstrap servers, host:port[,host:port…].",
            discussion: """
                Default: $SPEEDO_BROKERS, then the profile's brokers, then the running dev stack (`speedo dev up`), \
                then localhost:9092.
                """,
            valueName: "host:port"))
    var brokers: String?

    @Option(
        name: [.customShort("t"), .long],
        help: ArgumentHelp(
            "The readings topic.",
            discussion: "Default: $SPEEDO_TOPIC, then the profile's topic, then speed-events.",
            valueName: "name"))
    var topic: String?

    @Option(
        name: .customShort("X"),
        help: ArgumentHelp(
            "A librdkafka property, repeatable (as in kcat).",
            discussion: """
                This is how SASL and SSL are set, e.g. -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN. \
                A value @FILE is read from FILE (write @@ for a value that starts with @): give passwords as \
                -X sasl.password=@/run/secrets/kafka-password, since ps shows command lines to every user. \
                These come after the profile's kafka: properties, and win over them.
                """,
            valueName: "key=value"))
    var properties: [String] = []

    /// Every `-X` checked against librdkafka and speedo's producer guarantees before anything connects; a value read
    /// from a file is checked once it is read.
    func validate() throws {
        do {
            try KafkaConfiguration.check(properties: properties.compactMap { argument in
                let property = try KafkaProperty.parse(argument)
                return SecretReference.file(in: property.value) == nil ? (property.key, property.value) : nil
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

    /// The connection settings of a command that works on Kafka alone.
    func resolved() throws -> ConnectionSettings {
        try ConnectionSettings.resolve(kafka: cluster, database: nil)
    }
}

/// How to reach PostgreSQL: shared by every command that reads or writes history.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: [.customShort("d"), .long],
        help: ArgumentHelp(
            "PostgreSQL connection URL or conninfo string.",
            discussion: """
                Default: $SPEEDO_DATABASE_URL, then $DATABASE_URL, then the profile's database-url, then libpq's \
                own PG* variables, then the running dev stack. @FILE reads the URL from FILE. Keep the password \
                out of the URL: libpq reads it from PGPASSFILE or ~/.pgpass (lines host:port:database:user:password, \
                mode 0600).
                """,
            valueName: "url"))
    var databaseURL: String?

    /// The database URL of a command that works on PostgreSQL alone.
    func resolvedURL() throws -> String {
        try ConnectionSettings.resolve(kafka: nil, database: self).databaseURL.value
    }
}

/// The Kafka and PostgreSQL sections of the commands that work on both, and how they resolve together.
struct KafkaAndDatabaseOptions: ParsableArguments {
    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func resolved() throws -> ConnectionSettings {
        try ConnectionSettings.resolve(kafka: kafka.cluster, database: database)
    }
}

extension ConnectionSettings {
    /// Resolves flags against the environment, the profile and the running dev stack (flag > environment > profile >
    /// dev stack > default), reading `@FILE` values; warns when a password is on the command line.
    static func resolve(kafka: KafkaOptions?, database: DatabaseOptions?) throws -> ConnectionSettings {
        let environment = ProcessInfo.processInfo.environment
        let settings = try resolve(
            brokersFlag: kafka?.brokers,
            databaseURLFlag: database?.databaseURL,
            topicFlag: kafka?.topic,
            kafkaPropertyArguments: kafka?.properties ?? [],
            environment: environment,
            profile: RunConfiguration.profile,
            devStack: DevStack.located(environment: environment).runningEndpoints()
        )
        // `-X` given as is was checked by `KafkaOptions.validate`; what came from the profile or a file is checked here.
        for property in settings.kafkaProperties where property.secretFile != nil || property.source.isProfile {
            do {
                try KafkaConfiguration.check(properties: [(property.key, property.value)])
            } catch {
                throw KafkaError(code: error.code, message: "\(error.message) (from \(property.source))")
            }
        }
        for place in settings.passwordsOnTheCommandLine {
            Terminal.note(
                "speedo: warning: the password in \(place) is visible to every user of this machine (ps shows command "
                    + "lines); give it as @FILE (a file holding it), in a profile of the configuration file, or for "
                    + "PostgreSQL in PGPASSFILE or ~/.pgpass")
        }
        return settings
    }

    /// The options that carry a password written out on the command line.
    var passwordsOnTheCommandLine: [String] {
        let kafka = kafkaProperties.filter { property in
            guard case .flag = property.source else { return false }
            return property.secretFile == nil && Secrets.isSecretKafkaProperty(property.key)
        }.map { "-X \($0.key)" }
        guard case .flag = databaseURL.source, databaseURL.secretFile == nil,
            ConnectionString.redacting(databaseURL.value) != databaseURL.value
        else { return kafka }
        return kafka + ["--database-url"]
    }
}
