import Foundation
package import SpeedoCore

/// speedo's commands and their options, as swift-argument-parser describes them (`--experimental-dump-help`): what a
/// profile's `commands:` entries are checked against, and how their defaults reach the command line.
package struct CommandTree: Decodable, Sendable {
    package struct Name: Decodable, Sendable {
        var kind: String
        var name: String
        var spelled: String { kind == "long" ? "--\(name)" : "-\(name)" }
    }

    package struct Argument: Decodable, Sendable {
        var kind: String
        var names: [Name]?
        var isRepeating: Bool
        var longName: String? { names?.first { $0.kind == "long" }?.name }
    }

    package struct Command: Decodable, Sendable {
        var commandName: String
        var arguments: [Argument]?
        var subcommands: [Command]?
    }

    /// A command by its path (`consume postgres`), with what it takes.
    struct Located {
        var path: String
        var command: Command
    }

    /// An option put on the command line from the profile.
    struct Default {
        var option: Argument
        var tokens: [String]
    }

    var command: Command

    /// The tree from the JSON that `--experimental-dump-help` prints.
    package init(describedBy json: String) throws {
        self = try JSONDecoder().decode(CommandTree.self, from: Data(json.utf8))
    }

    /// Puts each default of `commands` that belongs to the command `arguments` name (`commandPath`, its leading words)
    /// after those words, unless the command line gives that option itself under any of its names: a flag always wins
    /// over the profile. Every entry is checked, also those of other commands, so that a mistake is found at once.
    package func applyDefaults(
        of commands: [ConfigFile.CommandDefaults], to arguments: inout [String], commandPath: [String]
    ) throws(ConfigurationError) {
        let runnable = runnableCommands()
        for entry in commands {
            let command = try Self.command(entry, among: runnable)
            let defaults = try command.arguments(for: entry)
            guard command.path == commandPath.joined(separator: " ") else { continue }
            let absent = defaults.filter { !arguments.contains(option: $0.option) }
            arguments.insert(contentsOf: absent.flatMap(\.tokens), at: commandPath.count)
        }
    }

    /// The commands that run (not groups such as `consume`), by path.
    private func runnableCommands() -> [Located] {
        var runnable: [Located] = []
        func collect(_ node: Command, _ prefix: String) {
            for child in node.subcommands ?? [] where child.commandName != "help" {
                let path = prefix.isEmpty ? child.commandName : "\(prefix) \(child.commandName)"
                if (child.subcommands ?? []).isEmpty { runnable.append(Located(path: path, command: child)) }
                collect(child, path)
            }
        }
        collect(command, "")
        return runnable
    }

    /// The command a `commands:` entry names, or an error with the commands there are.
    private static func command(
        _ entry: ConfigFile.CommandDefaults, among runnable: [Located]
    ) throws(ConfigurationError) -> Located {
        if let found = runnable.first(where: { $0.path == entry.command }) { return found }
        let close = Suggestions.closest(to: entry.command, among: runnable.map(\.path))
        throw ConfigurationError(
            code: .configurationFile,
            message: "\(entry.position): \(EscapedText.quoted(entry.command)) is not a speedo command that runs"
                + (close.isEmpty ? "" : " (did you mean \(close.map { EscapedText.quoted($0) }.joined(separator: " or "))?)")
                + "; name commands as on the command line, e.g. consume postgres")
    }
}

extension CommandTree.Located {
    /// Options set at the profile level, never per command, so that the precedence stays flag > environment > profile.
    static let connectionOptions = ["brokers", "topic", "database-url"]

    /// The command-line words each of the entry's options stands for, checked against what the command takes.
    func arguments(for entry: ConfigFile.CommandDefaults) throws(ConfigurationError) -> [CommandTree.Default] {
        var defaults: [CommandTree.Default] = []
        let options = (command.arguments ?? []).filter { $0.kind != "positional" && $0.longName != nil }
        for option in entry.options {
            let fail = { (message: String) in
                ConfigurationError(code: .configurationFile, message: "\(option.position): \(path) \(option.name): \(message)")
            }
            guard !Self.connectionOptions.contains(option.name) else {
                throw fail("set \(option.name) for the whole profile (\(option.name): at the profile's level), not per command")
            }
            guard let argument = options.first(where: { $0.longName == option.name }) else {
                let names = options.compactMap(\.longName)
                let close = Suggestions.closest(to: option.name, among: names)
                throw fail(
                    "not an option of speedo \(path)"
                        + (close.isEmpty ? "" : " (did you mean \(close.map { EscapedText.quoted($0) }.joined(separator: " or "))?)")
                        + "; see speedo \(path) --help (write options without their dashes)")
            }
            let spelled = "--\(option.name)"
            if argument.kind == "flag" {
                guard !option.isList, let on = Bool(option.values[0]) else { throw fail("a flag takes true or false") }
                if on { defaults.append(.init(option: argument, tokens: [spelled])) }
            } else {
                guard !option.isList || argument.isRepeating else { throw fail("takes one value, not a list") }
                defaults.append(.init(option: argument, tokens: option.values.flatMap { [spelled, $0] }))
            }
        }
        return defaults
    }
}

extension [String] {
    /// Whether the command line gives `option` under any of its names (`--name`, `--name=…`, `-n`, `-nVALUE`).
    fileprivate func contains(option: CommandTree.Argument) -> Bool {
        (option.names ?? []).contains { name in
            contains { word in
                word == name.spelled || word.hasPrefix(name.spelled + "=")
                    || (name.kind == "short" && word.hasPrefix(name.spelled) && !word.hasPrefix("--"))
            }
        }
    }
}
