import Foundation
package import SpeedoCore
import Yams

/// The configuration file: named profiles, each with connection settings (brokers, topic, database, librdkafka
/// properties) and defaults for the options of commands. YAML, read with Yams, which gives every key its line so that
/// each mistake is named where it is.
///
/// ```yaml
/// default-profile: production
/// profiles:
///   production:
///     brokers: kafka-1:9093,kafka-2:9093
///     database-url: postgresql://speedo@db/speedo
///     kafka:
///       security.protocol: SASL_SSL
///       sasl.password: "@/run/secrets/kafka-password"
///     commands:
///       consume postgres:
///         group: speedo-history
/// ```
package struct ConfigFile: Sendable, Equatable {
    package struct Profile: Sendable, Equatable {
        package var settings: ProfileSettings
        package var commands: [CommandDefaults]
    }

    /// The `commands:` entry of one command, named by its path (`consume postgres`).
    package struct CommandDefaults: Sendable, Equatable {
        package var command: String
        package var position: FilePosition
        package var options: [OptionDefault]
    }

    /// One option's default, by its long name without dashes; a list for an option given several times.
    package struct OptionDefault: Sendable, Equatable {
        package var name: String
        package var values: [String]
        package var isList: Bool
        package var position: FilePosition

        package init(name: String, values: [String], isList: Bool, position: FilePosition) {
            (self.name, self.values, self.isList, self.position) = (name, values, isList, position)
        }
    }

    package var path: String
    package var defaultProfile: ProfileSettings.Entry?
    package var profiles: [Profile]

    static let topLevelKeys = ["default-profile", "profiles"]
    static let profileKeys = ["brokers", "topic", "database-url", "kafka", "commands"]

    package func profile(named name: String) -> Profile? { profiles.first { $0.settings.name == name } }

    package static func read(path: String) throws(ConfigurationError) -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                code: .configurationFile,
                message: "cannot read the configuration file \(EscapedText.quoted(path)): \(error.localizedDescription)")
        }
        return try parse(text, path: path)
    }

    package static func parse(_ text: String, path: String) throws(ConfigurationError) -> ConfigFile {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw malformed(error, path: path)
        } catch {
            throw ConfigurationError(code: .configurationFile, message: "\(path): not valid YAML: \(error)")
        }
        var file = ConfigFile(path: path, defaultProfile: nil, profiles: [])
        guard let root else { return file }
        let reader = Reader(path: path)
        for (key, value) in try reader.mapping(root, what: "the top level") {
            switch try reader.known(key, among: topLevelKeys, in: "the top level") {
            case "default-profile":
                file.defaultProfile = ProfileSettings.Entry(
                    try reader.scalar(value, key: "default-profile"), at: reader.position(value))
            default:
                for (name, body) in try reader.mapping(value, what: "profiles") {
                    file.profiles.append(try reader.profile(named: try reader.scalar(name, key: "profiles"), body))
                }
            }
        }
        if let wanted = file.defaultProfile, file.profile(named: wanted.value) == nil {
            throw reader.error(
                at: wanted.position,
                "default-profile \(EscapedText.quoted(wanted.value)) is not a profile of this file"
                    + reader.profileList(file.profiles))
        }
        return file
    }

    private static func malformed(_ error: YamlError, path: String) -> ConfigurationError {
        let (problem, mark): (String, Mark?) =
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
                .composer(_, let problem, let mark, _):
                (problem, mark)
            case .duplicatedKeysInMapping(let duplicates, let context):
                ("the key \(duplicates.map { EscapedText.quoted($0) }.joined(separator: ", ")) is given twice",
                 context.mark)
            default:
                ("\(error)", nil)
            }
        let place = mark.map { "\(path):\($0.line)" } ?? path
        return ConfigurationError(code: .configurationFile, message: "\(place): not valid YAML: \(problem)")
    }
}

/// Walks the YAML nodes with the file's path at hand, so that every error names the file, the line and the key.
private struct Reader {
    let path: String

    func position(_ node: Node) -> FilePosition { FilePosition(path: path, line: node.mark?.line ?? 0) }

    func error(at position: FilePosition, _ message: String) -> ConfigurationError {
        ConfigurationError(code: .configurationFile, message: "\(position): \(message)")
    }

    func mapping(_ node: Node, what: String) throws(ConfigurationError) -> [(key: Node, value: Node)] {
        guard case .mapping(let mapping) = node else {
            throw error(at: position(node), "\(what) must be a mapping of keys to values")
        }
        return mapping.map { ($0.key, $0.value) }
    }

    func scalar(_ node: Node, key: String) throws(ConfigurationError) -> String {
        guard case .scalar(let scalar) = node else {
            throw error(at: position(node), "\(EscapedText.quoted(key)) takes a single value, not a list or a mapping")
        }
        return scalar.string
    }

    /// The key's name when it is one of `keys`; else an error with the closest names.
    func known(_ key: Node, among keys: [String], in place: String) throws(ConfigurationError) -> String {
        let name = try scalar(key, key: "a key")
        guard keys.contains(name) else {
            let close = Suggestions.closest(to: name, among: keys)
            throw error(
                at: position(key),
                "unknown key \(EscapedText.quoted(name)) in \(place)"
                    + (close.isEmpty ? "" : " (did you mean \(close.map { EscapedText.quoted($0) }.joined(separator: " or "))?)")
                    + "; the keys there are \(keys.joined(separator: ", "))")
        }
        return name
    }

    func profileList(_ profiles: [ConfigFile.Profile]) -> String {
        profiles.isEmpty ? "; it has no profiles" : "; its profiles: \(profiles.map(\.settings.name).joined(separator: ", "))"
    }

    func profile(named name: String, _ body: Node) throws(ConfigurationError) -> ConfigFile.Profile {
        var profile = ConfigFile.Profile(settings: ProfileSettings(name: name), commands: [])
        let place = "profile \(EscapedText.quoted(name))"
        for (key, value) in try mapping(body, what: place) {
            let field = try known(key, among: ConfigFile.profileKeys, in: place)
            switch field {
            case "brokers":
                profile.settings.brokers = ProfileSettings.Entry(try brokers(value), at: position(value))
            case "topic":
                profile.settings.topic = ProfileSettings.Entry(try scalar(value, key: field), at: position(value))
            case "database-url":
                profile.settings.databaseURL = ProfileSettings.Entry(try scalar(value, key: field), at: position(value))
            case "kafka":
                for (property, setting) in try mapping(value, what: "\(place), kafka") {
                    let propertyName = try scalar(property, key: "kafka")
                    guard propertyName != "bootstrap.servers" else {
                        throw error(at: position(property), "set the brokers of \(place) with brokers:, not kafka: bootstrap.servers")
                    }
                    profile.settings.kafkaProperties.append(
                        (propertyName, ProfileSettings.Entry(try scalar(setting, key: propertyName), at: position(setting))))
                }
            default:
                for (command, options) in try mapping(value, what: "\(place), commands") {
                    let name = try scalar(command, key: "commands")
                    profile.commands.append(
                        ConfigFile.CommandDefaults(
                            command: name, position: position(command), options: try optionDefaults(options, command: name)))
                }
            }
        }
        return profile
    }

    /// `host:port,host:port` or a list of `host:port`.
    private func brokers(_ node: Node) throws(ConfigurationError) -> String {
        if case .sequence(let list) = node {
            var hosts: [String] = []
            for host in list { hosts.append(try scalar(host, key: "brokers")) }
            return hosts.joined(separator: ",")
        }
        return try scalar(node, key: "brokers")
    }

    private func optionDefaults(_ node: Node, command: String) throws(ConfigurationError) -> [ConfigFile.OptionDefault] {
        var defaults: [ConfigFile.OptionDefault] = []
        for (key, value) in try mapping(node, what: "the options of \(EscapedText.quoted(command))") {
            let name = try scalar(key, key: command)
            if case .sequence(let list) = value {
                var values: [String] = []
                for item in list { values.append(try scalar(item, key: name)) }
                defaults.append(.init(name: name, values: values, isList: true, position: position(key)))
            } else {
                defaults.append(.init(name: name, values: [try scalar(value, key: name)], isList: false, position: position(key)))
            }
        }
        return defaults
    }
}
