import Foundation

/// Where the running `speedo dev` stack can be reached; found by the caller, passed in.
package struct DevStackEndpoints: Sendable, Equatable {
    package var brokers: String
    package var databaseURL: String

    package init(brokers: String, databaseURL: String) {
        (self.brokers, self.databaseURL) = (brokers, databaseURL)
    }
}

/// One librdkafka property: a `-X key=value`, or a `kafka:` entry of the configuration file's profile.
package struct KafkaProperty: Sendable, Equatable {
    package var key: String
    package var value: String
    package var source: SettingSource
    /// The file the value was read from, when it was given as `@FILE`.
    package var secretFile: String?

    /// As it may be shown: `key=value`, the value masked when it is a credential.
    package var shown: String { Secrets.shownKafkaProperty(key, value) }

    /// `key=value`; the value may itself contain `=`.
    package static func parse(_ argument: String) throws(ConfigurationError) -> KafkaProperty {
        guard let separator = argument.firstIndex(of: "="), separator != argument.startIndex,
            !argument[..<separator].contains(where: \.isWhitespace)
        else {
            throw ConfigurationError(
                code: .malformedKafkaProperty,
                message: "invalid -X argument \(EscapedText.quoted(Secrets.isSecretKafkaProperty(argument) ? Secrets.mask : argument)): expected -X key=value "
                    + "(a librdkafka property, e.g. -X security.protocol=SASL_SSL)")
        }
        let key = String(argument[..<separator])
        return KafkaProperty(key: key, value: String(argument[argument.index(after: separator)...]), source: .flag("-X \(key)"))
    }
}

/// Where a setting's value came from, so that `speedo status` can tell the user what to change.
package enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    /// The command-line option, e.g. `--brokers` or `-X bootstrap.servers`.
    case flag(String)
    case environment(String)
    /// A profile of the configuration file, at the line that sets it.
    case profile(String, FilePosition)
    /// A key of the configuration file outside the profiles (`default-profile`).
    case configurationKey(String, FilePosition)
    case devStack
    case builtInDefault
    /// libpq will read these `PG*` variables itself.
    case libpqEnvironment([String])
    /// Nothing set anywhere: libpq's defaults (local socket, user name as database).
    case libpqDefaults

    package var isProfile: Bool {
        if case .profile = self { true } else { false }
    }

    package var description: String {
        switch self {
        case .flag(let name): "\(name) option"
        case .environment(let name): "environment variable \(name)"
        case .profile(let name, let position): "profile \(EscapedText.quoted(name)), \(position)"
        case .configurationKey(let key, let position): "\(key), \(position)"
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
    /// The file the value was read from, when it was given as `@FILE`.
    package var secretFile: String?

    package init(_ value: String, from source: SettingSource, secretFile: String? = nil) {
        (self.value, self.source, self.secretFile) = (value, source, secretFile)
    }

    package var description: String { "\(value) (from \(origin))" }

    /// Where the value came from, and the file it was read from.
    package var origin: String { secretFile.map { "\(source), read from \($0)" } ?? "\(source)" }
}

/// A line of a configuration file.
package struct FilePosition: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var line: Int

    package init(path: String, line: Int) {
        (self.path, self.line) = (path, line)
    }

    package var description: String { "\(path):\(line)" }
}

/// The connection settings of one profile of the configuration file, each with the line that sets it. What else a
/// profile holds (defaults of command options) the command line applies before it is parsed.
package struct ProfileSettings: Sendable, Equatable {
    package struct Entry: Sendable, Equatable {
        package var value: String
        package var position: FilePosition

        package init(_ value: String, at position: FilePosition) {
            (self.value, self.position) = (value, position)
        }
    }

    package var name: String
    package var brokers: Entry?
    package var topic: Entry?
    package var databaseURL: Entry?
    /// The `kafka:` properties in file order.
    package var kafkaProperties: [(key: String, entry: Entry)]

    package init(
        name: String, brokers: Entry? = nil, topic: Entry? = nil, databaseURL: Entry? = nil,
        kafkaProperties: [(key: String, entry: Entry)] = []
    ) {
        (self.name, self.brokers, self.topic, self.databaseURL, self.kafkaProperties) =
            (name, brokers, topic, databaseURL, kafkaProperties)
    }

    package static func == (lhs: ProfileSettings, rhs: ProfileSettings) -> Bool {
        (lhs.name, lhs.brokers, lhs.topic, lhs.databaseURL) == (rhs.name, rhs.brokers, rhs.topic, rhs.databaseURL)
            && lhs.kafkaProperties.elementsEqual(rhs.kafkaProperties) { $0.key == $1.key && $0.entry == $1.entry }
    }

    func setting(_ entry: Entry) -> ResolvedSetting {
        ResolvedSetting(entry.value, from: .profile(name, entry.position))
    }
}

/// A value given as `@FILE` is read from that file (one trailing newline dropped), so that a secret need not be on
/// the command line, where `ps` shows it, nor in the configuration file; `@@` stands for a literal `@`.
package enum SecretReference {
    /// The file a value names, or nil when it is a plain value.
    package static func file(in value: String) -> String? {
        guard value.hasPrefix("@"), !value.hasPrefix("@@") else { return nil }
        return String(value.dropFirst())
    }

    struct UnreadableFile: Error, CustomStringConvertible {
        var description: String
    }

    /// A file's contents, or an error that says plainly why not.
    package static func readFile(_ path: String) throws -> String {
        let files = FileManager.default
        guard files.fileExists(atPath: path) else { throw UnreadableFile(description: "no such file") }
        guard files.isReadableFile(atPath: path), let contents = files.contents(atPath: path) else {
            throw UnreadableFile(description: "not readable by this user")
        }
        guard let text = String(data: contents, encoding: .utf8) else { throw UnreadableFile(description: "not UTF-8 text") }
        return text
    }

    /// The value itself, or the contents of the file it names; `named` says where it was given, for the error.
    package static func resolve(
        _ value: String, named: String, read: (String) throws -> String
    ) throws(ConfigurationError) -> (value: String, file: String?) {
        if value.hasPrefix("@@") { return (String(value.dropFirst()), nil) }
        guard let path = file(in: value) else { return (value, nil) }
        let contents: String
        do {
            contents = try read(path)
        } catch {
            throw ConfigurationError(
                code: .unreadableSecretFile,
                message: "cannot read \(EscapedText.quoted(path)), named by \(named): \(error); give a readable file "
                    + "(its contents are the value) or write @@ for a value that starts with @")
        }
        // "\r\n" is one Character.
        let trimmed = contents.last == "\n" || contents.last == "\r\n" ? contents.dropLast() : Substring(contents)
        return (String(trimmed), path)
    }
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

    /// Precedence, highest first. Brokers: `--brokers` (or `-X bootstrap.servers`), `SPEEDO_BROKERS`, the profile,
    /// the dev stack, `localhost:9092`. Topic: `--topic`, `SPEEDO_TOPIC`, the profile, `speed-events`. Database:
    /// `--database-url`, `SPEEDO_DATABASE_URL`, `DATABASE_URL`, the profile, libpq's `PG*` variables, the dev stack,
    /// libpq's defaults. librdkafka properties: the profile's, then `-X` (a later one of the same key wins).
    /// Environment variables set to the empty string count as unset. `-X` values, `--database-url` and the
    /// profile's `kafka:` values and `database-url` may be `@FILE` (read through `readSecret`).
    package static func resolve(
        brokersFlag: String?, databaseURLFlag: String?, topicFlag: String?, kafkaPropertyArguments: [String],
        environment: [String: String], profile: ProfileSettings? = nil, devStack: DevStackEndpoints?,
        readSecret: (String) throws -> String = SecretReference.readFile
    ) throws(ConfigurationError) -> ConnectionSettings {
        var properties: [KafkaProperty] = []
        for (key, entry) in profile?.kafkaProperties ?? [] {
            properties.append(KafkaProperty(key: key, value: entry.value, source: .profile(profile!.name, entry.position)))
        }
        for argument in kafkaPropertyArguments { properties.append(try KafkaProperty.parse(argument)) }
        for index in properties.indices {
            let (value, file) = try SecretReference.resolve(
                properties[index].value, named: "\(properties[index].key) (from \(properties[index].source))", read: readSecret)
            (properties[index].value, properties[index].secretFile) = (value, file)
        }
        properties = properties.enumerated().filter { index, property in
            !properties[(index + 1)...].contains { $0.key == property.key }
        }.map(\.element)
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
            ?? profile.flatMap { profile in profile.brokers.map(profile.setting) }
            ?? devStack.map { ResolvedSetting($0.brokers, from: .devStack) }
            ?? ResolvedSetting(defaultBrokers, from: .builtInDefault)

        let topic =
            topicFlag.map { ResolvedSetting($0, from: .flag("--topic")) }
            ?? environmentValue("SPEEDO_TOPIC")
            ?? profile.flatMap { profile in profile.topic.map(profile.setting) }
            ?? ResolvedSetting(defaultTopic, from: .builtInDefault)
        try validateTopic(topic)

        let libpqVariablesSet = libpqVariables.filter { !(environment[$0] ?? "").isEmpty }
        var database =
            try databaseURLFlag.map { value throws(ConfigurationError) in
                ResolvedSetting(try nonEmpty(value, option: "--database-url"), from: .flag("--database-url"))
            }
            ?? environmentValue("SPEEDO_DATABASE_URL")
            ?? environmentValue("DATABASE_URL")
            ?? profile.flatMap { profile in profile.databaseURL.map(profile.setting) }
            ?? (libpqVariablesSet.isEmpty ? nil : ResolvedSetting("", from: .libpqEnvironment(libpqVariablesSet)))
            ?? devStack.map { ResolvedSetting($0.databaseURL, from: .devStack) }
            ?? ResolvedSetting("", from: .libpqDefaults)
        switch database.source {
        case .flag, .profile:
            (database.value, database.secretFile) = try SecretReference.resolve(
                database.value, named: "the database URL (from \(database.source))", read: readSecret)
        default:
            break
        }

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
    package enum Code: Sendable {
        case malformedKafkaProperty
        case conflictingBrokers
        case invalidTopic
        case emptyValue
        case unreadableSecretFile
        case configurationFile
    }

    package let code: Code
    package let message: String

    package init(code: Code, message: String) {
        (self.code, self.message) = (code, message)
    }

    package var description: String { message }
}
