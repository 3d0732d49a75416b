import SpeedoConfigFile
import SpeedoCore
import Testing

/// A profile's `commands:` defaults put on the command line, against a tree in the form swift-argument-parser's
/// `--experimental-dump-help` prints (the binary's tests check speedo's own tree end to end).
@Suite struct CommandTreeTests {
    static let tree = """
        {"serializationVersion": 0, "command": {"commandName": "speedo", "subcommands": [
          {"commandName": "consume", "subcommands": [
            {"commandName": "postgres", "arguments": [
              {"kind": "option", "isRepeating": false, "names": [{"kind": "short", "name": "b"}, {"kind": "long", "name": "brokers"}]},
              {"kind": "option", "isRepeating": false, "names": [{"kind": "long", "name": "group"}]},
              {"kind": "option", "isRepeating": false, "names": [{"kind": "long", "name": "batch-size"}]},
              {"kind": "flag", "isRepeating": false, "names": [{"kind": "long", "name": "exit-at-end"}]}]}]},
          {"commandName": "watch", "arguments": [
            {"kind": "option", "isRepeating": true, "names": [{"kind": "long", "name": "sensors"}]}]}]}}
        """

    static func file(_ commands: String) throws -> ConfigFile {
        try ConfigFile.parse("profiles:\n  p:\n    commands:\n\(commands)", path: "/c.yaml")
    }

    static func applied(_ commands: String, to arguments: [String], path: [String]) throws -> [String] {
        var arguments = arguments
        try CommandTree(describedBy: tree).applyDefaults(
            of: try file(commands).profiles[0].commands, to: &arguments, commandPath: path)
        return arguments
    }

    @Test func defaultsGoAfterTheCommandWhereTheCommandLineDoesNotGiveThem() throws {
        let commands = """
                  consume postgres:
                    group: writers
                    batch-size: 500
                    exit-at-end: true
                  watch:
                    sensors: [sensor-1*, sensor-2*]

            """
        #expect(
            try Self.applied(commands, to: ["consume", "postgres", "--batch-size=20"], path: ["consume", "postgres"])
                == ["consume", "postgres", "--group", "writers", "--exit-at-end", "--batch-size=20"])
        #expect(
            try Self.applied(commands, to: ["watch", "-b", "k:9092"], path: ["watch"])
                == ["watch", "--sensors", "sensor-1*", "--sensors", "sensor-2*", "-b", "k:9092"])
    }

    @Test func mistakesAreNamedWithTheirLine() throws {
        let wrongCommand = "      consume postgre:\n        group: writers\n"
        let unknown = #expect(throws: ConfigurationError.self) { try Self.applied(wrongCommand, to: ["watch"], path: ["watch"]) }
        #expect(unknown?.message.hasPrefix("/c.yaml:4: \"consume postgre\" is not a speedo command that runs") == true)
        #expect(unknown?.message.contains("did you mean \"consume postgres\"?") == true)
        let perCommandBroker = "      consume postgres:\n        brokers: k:9092\n"
        #expect(throws: ConfigurationError.self) { try Self.applied(perCommandBroker, to: ["watch"], path: ["watch"]) }
        let listForOne = "      consume postgres:\n        group: [a, b]\n"
        #expect(throws: ConfigurationError.self) { try Self.applied(listForOne, to: ["watch"], path: ["watch"]) }
    }
}
