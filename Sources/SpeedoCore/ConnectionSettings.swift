/// Where the running `speedo dev` stack can be reached; found by the caller, passed in.
package struct DevStackEndpoints: Sendable, Equatable {
    package var brokers: String
    package var databaseURL: String

    package init(brokers: String, databaseURL: String) {
        (self.brokers, self.databaseURL) = (brokers, databaseURL)
    }
}

/// One `-X key=value` librdkafka property, in command-line order.
package struct KafkaProperty: Sendable, Equatable {
    package var key: String
    package var value: String

    package init(key: String, value: String) {
        (self.key, self.value) = (key, value)
    }

    /// `key=value`; the value may itself contain `=`.
    package static func parse(_ argument: String) throws(ConfigurationError) -> KafkaProperty {
        guard let separator = argument.firstIndex(of: "="), separator != argument.startIndex,
            !argument[..<separator].contains(where: \.isWhitespace)
        else {
            throw ConfigurationError(
                code: .malformedKafkaProperty,
                message: "invalid -X argument \(EscapedText.quoted(argument)): expected -X key=value "
                    + "(a librdkafka property, e.g. -X security.protocol=SASL_SSL)")
        }
        return KafkaProperty(
            key: String(argument[..<separator]), value: String(argument[argument.index(after: separator)...]))
    }
}

/// Where a setting's value came from, so that `speedo status` can tell the user what to change.
package enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    /// The command-line option, e.g. `--brokers` or `-X bootstrap.servers`.
    case flag(String)
    case environment(String)
    case devStack
    case builtInDefault
    /// libpq will read these `PG*` variables itself.
    case libpqEnvironment([String])
    /// Nothing set anywhere: libpq's defaults (local socket, user name as database).
    case libpqDefaults

    package var description: String {
        switch self {
        case .flag(let name): "\(name) option"
        case .environment(let name): "environment variable \(name)"
        case .devStack: "running `speedo dev` stack"
        case .builtInDefault: "default"
        case .libpqEnvironment(let names): "libpq environment (\(names.joined(separator: ", ")))"
        case .libpqDefaults: "libpq defaults"
        }
    }
}

package struct ResolvedSetting: Sendable, Equatable, CustomStringConvertible {
    package var value: String
    package var source: SettingSource

    package init(_ value: String, from source: SettingSource) {
        (self.value, self.source) = (value, source)
    }

    package var description: String { "\(value) (from \(source))" }
}

/// The brokers, topic and database a command talks to, each with its origin.
package struct ConnectionSettings: Sendable, Equatable {
    package var brokers: ResolvedSetting
    package var topic: ResolvedSetting
    /// A libpq conninfo string or URL; empty means "let libpq decide" (its `PG*` variables or defaults).
    package var databaseURL: ResolvedSetting
    /// The `-X` properties in order, without `bootstrap.servers` (carried by `brokers`).
    package var kafkaProperties: [KafkaProperty]

    package static let defaultBrokers = "localhost:9092"
    package static let defaultTopic = "speed-events"
    /// The compacted topic of each sensor's latest state, written by `consume latest`, read by `watch`.
    package static let latestTopic = "speed-latest"

    /// Where consumers put records of `topic` that fail validation.
    package static func deadLetterTopic(for topic: String) -> String { topic + ".dlq" }
    static let libpqVariables = ["PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD", "PGSERVICE"]

    /// Precedence, highest first. Brokers: `--brokers` (or `-X bootstrap.servers`), `SPEEDO_BROKERS`,
    /// the dev stack, `localhost:9092`. Topic: `--topic`, `SPEEDO_TOPIC`, `speed-events`. Database:
    /// `--database-url`, `SPEEDO_DATABASE_URL`, `DATABASE_URL`, libpq's `PG*` variables, the dev stack,
    /// libpq's defaults. Environment variables set to the empty string count as unset.
    package static func resolve(
        brokersFlag: String?, databaseURLFlag: String?, topicFlag: String?, kafkaPropertyArguments: [String],
        environment: [String: String], devStack: DevStackEndpoints?
    ) throws(ConfigurationError) -> ConnectionSettings {
        var properties: [KafkaProperty] = []
        for argument in kafkaPropertyArguments { properties.append(try KafkaProperty.parse(argument)) }
        let bootstrapProperty = properties.last { $0.key == "bootstrap.servers" }
        properties.removeAll { $0.key == "bootstrap.servers" }

        func environmentValue(_ name: String) -> ResolvedSetting? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return ResolvedSetting(value, from: .environment(name))
        }

        if let brokersFlag, let bootstrapProperty, brokersFlag != bootstrapProperty.value {
            throw ConfigurationError(
                code: .conflictingBrokers,
                message: "--brokers \(EscapedText.quoted(brokersFlag)) and -X bootstrap.servers="
                    + "\(EscapedText.escape(bootstrapProperty.value)) disagree; give only one of them")
        }
        let brokers =
            try brokersFlag.map { value throws(ConfigurationError) in
                ResolvedSetting(try nonEmpty(value, option: "--brokers"), from: .flag("--brokers"))
            }
            ?? bootstrapProperty.map { ResolvedSetting($0.value, from: .flag("-X bootstrap.servers")) }
            ?? environmentValue("SPEEDO_BROKERS")
            ?? devStack.map { ResolvedSetting($0.brokers, from: .devStack) }
            ?? ResolvedSetting(defaultBrokers, from: .builtInDefault)

        let topic =
            topicFlag.map { ResolvedSetting($0, from: .flag("--topic")) }
            ?? environmentValue("SPEEDO_TOPIC")
            ?? ResolvedSetting(defaultTopic, from: .builtInDefault)
        try validateTopic(topic)

        let libpqVariablesSet = libpqVariables.filter { !(environment[$0] ?? "").isEmpty }
        let database =
            try databaseURLFlag.map { value throws(ConfigurationError) in
                ResolvedSetting(try nonEmpty(value, option: "--database-url"), from: .flag("--database-url"))
            }
            ?? environmentValue("SPEEDO_DATABASE_URL")
            ?? environmentValue("DATABASE_URL")
            ?? (libpqVariablesSet.isEmpty ? nil : ResolvedSetting("", from: .libpqEnvironment(libpqVariablesSet)))
            ?? devStack.map { ResolvedSetting($0.databaseURL, from: .devStack) }
            ?? ResolvedSetting("", from: .libpqDefaults)

        return ConnectionSettings(brokers: brokers, topic: topic, databaseURL: database, kafkaProperties: properties)
    }

    private static func nonEmpty(_ value: String, option: String) throws(ConfigurationError) -> String {
        guard !value.isEmpty else {
            throw ConfigurationError(code: .emptyValue, message: "\(option) needs a value, got an empty string")
        }
        return value
    }

    /// Kafka's own rule: 1 to 249 characters of `A-Z a-z 0-9 . _ -`, and not `.` or `..`.
    package static func validateTopic(_ topic: ResolvedSetting) throws(ConfigurationError) {
        let name = topic.value
        let isLegal =
            (1...249).contains(name.utf8.count) && name != "." && name != ".."
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
        guard isLegal else {
            throw ConfigurationError(
                code: .invalidTopic,
                message: "invalid topic name \(EscapedText.quoted(name)) (from \(topic.source)): a Kafka topic name "
                    + "is 1 to 249 characters from A-Z a-z 0-9 . _ - and is not \".\" or \"..\"")
        }
    }
}

package struct ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    package enum Code: String, Sendable {
        case malformedKafkaProperty = "malformed-kafka-property"
        case conflictingBrokers = "conflicting-brokers"
        case invalidTopic = "invalid-topic"
        case emptyValue = "empty-value"
    }

    package let code: Code
    package let message: String

    package var description: String { message }
}
