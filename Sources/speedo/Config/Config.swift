import ArgumentParser

/// `speedo config <task>`: the configuration file and its profiles.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings in effect: configuration file, profile, flags and environment.",
        discussion: """
            The configuration file (YAML) holds named profiles. A profile sets the brokers, the topic, the \
            database URL, librdkafka properties and defaults for the options of any command:

              default-profile: production
              profiles:
                production:
                  brokers: kafka-1.example.net:9093,kafka-2.example.net:9093
                  database-url: postgresql://speedo@db.example.net/speedo
                  kafka:
                    security.protocol: SASL_SSL
                    sasl.mechanism: SCRAM-SHA-512
                    sasl.username: speedo
                    sasl.password: "@/run/secrets/kafka-password"
                  commands:
                    consume postgres:
                      group: speedo-history
                      metrics-listen: 127.0.0.1:9464

            Any kafka: value, the database-url, every -X value and --database-url may be @FILE: the value is \
            read from FILE, so that passwords stay off command lines (which ps shows) and out of the file. \
            PostgreSQL passwords are best left to libpq: PGPASSFILE or ~/.pgpass.
            """,
        subcommands: [ConfigShow.self]
    )
}
