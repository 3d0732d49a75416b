import ArgumentParser
import Foundation
import Logging
import SpeedoConfigFile
import SpeedoCore
import SpeedoRuntime

/// What applies to the whole run, whatever the command: the configuration file and profile (`--config FILE`,
/// `--profile NAME`) and the log (`--log-format text|json`, `--log-level LEVEL`). These are taken off the command line
/// wherever they stand before `--` (global options, as git's `-c`), and the profile's `commands:` defaults for the
/// chosen command are put on it, each only where the command line does not give that option itself: a flag always
/// wins over the profile. Prepared once, before the command line is parsed.
enum RunConfiguration {
    /// The global options, off the command line; nothing read yet.
    struct Global: Sendable {
        var configFlag: String?
        var profileFlag: String?
        var logFormat = MessageLog.Format.text
        var logLevel = Logger.Level.info
        /// The command line without them (and everything after `--`).
        var head: [String]
        var tail: [String]
    }

    struct Prepared: Sendable {
        var selection: ConfigSelection
        var arguments: [String]
    }

    static let global = Result { () throws(ConfigurationError) in
        try takeGlobalOptions(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
    }

    static let prepared = Result { () throws(ConfigurationError) in
        try prepare(try global.get(), environment: ProcessInfo.processInfo.environment)
    }

    /// The profile's connection settings, for `ConnectionSettings.resolve`; none before a successful `prepared`.
    static var profile: ProfileSettings? { (try? prepared.get())?.selection.profile?.settings }

    /// Installs the log of this run (text at info when the log options themselves are wrong: that error is said then).
    static func bootstrapLog() {
        let options = try? global.get()
        let format = options?.logFormat ?? .text
        let command = options.map { commandPath(of: $0.head).joined(separator: " ") } ?? ""
        MessageLog.bootstrap(format: format, level: options?.logLevel ?? .info, command: command.isEmpty ? "speedo" : command)
    }

    static func takeGlobalOptions(_ arguments: [String], environment: [String: String]) throws(ConfigurationError) -> Global {
        let terminator = arguments.firstIndex(of: "--") ?? arguments.endIndex
        var head = Array(arguments[..<terminator])
        func setting(_ option: String, _ variable: String) throws(ConfigurationError) -> String? {
            try take(option, from: &head) ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        var global = Global(
            configFlag: try take("--config", from: &head), profileFlag: try take("--profile", from: &head), head: [],
            tail: Array(arguments[terminator...]))
        if let format = try setting("--log-format", "SPEEDO_LOG_FORMAT") {
            guard let known = MessageLog.Format(rawValue: format) else {
                throw ConfigurationError(code: .emptyValue, message: "--log-format takes text or json (got \(EscapedText.quoted(format)))")
            }
            global.logFormat = known
        }
        if let level = try setting("--log-level", "SPEEDO_LOG_LEVEL") {
            guard let known = Logger.Level(rawValue: level) else {
                throw ConfigurationError(
                    code: .emptyValue,
                    message: "--log-level takes \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")) "
                        + "(got \(EscapedText.quoted(level)))")
            }
            global.logLevel = known
        }
        global.head = head
        return global
    }

    static func prepare(_ global: Global, environment: [String: String]) throws(ConfigurationError) -> Prepared {
        var head = global.head
        let stripped = head + global.tail
        let asksForHelp = head.contains { ["-h", "--help", "--version", "--experimental-dump-help"].contains($0) || $0.hasPrefix("---") }
            || head.first == "help"
        guard !asksForHelp else { return Prepared(selection: .none, arguments: stripped) }

        let selection = try ConfigSelection.select(
            configFlag: global.configFlag, profileFlag: global.profileFlag, environment: environment)
        guard let commands = selection.profile?.commands, !commands.isEmpty else {
            return Prepared(selection: selection, arguments: stripped)
        }
        let tree = CommandTree.speedo
        let path = commandPath(of: head)
        for entry in commands {
            let command = try tree.command(entry)
            let defaults = try command.arguments(for: entry)
            guard command.path == path.joined(separator: " ") else { continue }
            head.insert(contentsOf: defaults.filter { !head.contains(option: $0.option) }.flatMap(\.tokens), at: path.count)
        }
        return Prepared(selection: selection, arguments: head + global.tail)
    }

    /// The leading words of `arguments` that name a command (`consume postgres`), from the commands' own definitions.
    static func commandPath(of arguments: [String]) -> [String] {
        var command: any ParsableCommand.Type = Speedo.self
        var path: [String] = []
        for word in arguments {
            guard let next = command.configuration.subcommands.first(where: { $0.configuration.commandName == word })
            else { break }
            (command, path) = (next, path + [word])
        }
        return path
    }

    /// Removes `--name VALUE` and `--name=VALUE` from `arguments`, returning the last value.
    private static func take(_ name: String, from arguments: inout [String]) throws(ConfigurationError) -> String? {
        var value: String?
        var index = arguments.startIndex
        while index < arguments.endIndex {
            if arguments[index] == name {
                guard index + 1 < arguments.endIndex else {
                    throw ConfigurationError(code: .emptyValue, message: "\(name) needs a value")
                }
                value = arguments[index + 1]
                arguments.removeSubrange(index...(index + 1))
            } else if arguments[index].hasPrefix(name + "=") {
                value = String(arguments[index].dropFirst(name.count + 1))
                arguments.remove(at: index)
            } else {
                index += 1
            }
        }
        if value?.isEmpty == true { throw ConfigurationError(code: .emptyValue, message: "\(name) needs a value, got an empty string") }
        return value
    }
}

/// speedo's commands and their options, as swift-argument-parser describes them (`--experimental-dump-help`), to check
/// a profile's `commands:` against what each command takes.
struct CommandTree: Decodable {
    struct Name: Decodable {
        var kind: String
        var name: String
        var spelled: String { kind == "long" ? "--\(name)" : "-\(name)" }
    }

    struct Argument: Decodable {
        var kind: String
        var names: [Name]?
        var isRepeating: Bool
        var longName: String? { names?.first { $0.kind == "long" }?.name }
    }

    struct Command: Decodable {
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

    static var speedo: CommandTree {
        do {
            _ = try Speedo.parseAsRoot(["--experimental-dump-help"])
        } catch {
            if let tree = try? JSONDecoder().decode(CommandTree.self, from: Data(Speedo.fullMessage(for: error).utf8)) {
                return tree
            }
        }
        preconditionFailure("swift-argument-parser no longer describes the commands with --experimental-dump-help")
    }

    /// The command a `commands:` entry names, or an error with the commands there are.
    func command(_ entry: ConfigFile.CommandDefaults) throws(ConfigurationError) -> Located {
        var all: [Located] = []
        func collect(_ node: Command, _ prefix: String) {
            for child in node.subcommands ?? [] where child.commandName != "help" {
                let path = prefix.isEmpty ? child.commandName : "\(prefix) \(child.commandName)"
                all.append(Located(path: path, command: child))
                collect(child, path)
            }
        }
        collect(command, "")
        if let found = all.first(where: { $0.path == entry.command && ($0.command.subcommands ?? []).isEmpty }) { return found }
        let close = Suggestions.closest(to: entry.command, among: all.filter { ($0.command.subcommands ?? []).isEmpty }.map(\.path))
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
