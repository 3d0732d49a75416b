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
        let path = commandPath(of: head)
        try CommandTree.speedo.applyDefaults(of: commands, to: &head, commandPath: path)
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

extension CommandTree {
    /// speedo's own tree, from the command definitions.
    static var speedo: CommandTree {
        do {
            _ = try Speedo.parseAsRoot(["--experimental-dump-help"])
        } catch {
            if let tree = try? CommandTree(describedBy: Speedo.fullMessage(for: error)) { return tree }
        }
        preconditionFailure("swift-argument-parser no longer describes the commands with --experimental-dump-help")
    }
}
