import ArgumentParser
import SpeedoRuntime

@main
struct Speedo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speedo",
        abstract: "Real-time vehicle-speed telemetry over Kafka and PostgreSQL.",
        discussion: """
            Sensors send readings such as {"sensor_id":"sensor-1","speed":42,"ts":1700000000}; \
            speedo validates them, publishes them to the Kafka topic speed-events, writes the history \
            to PostgreSQL exactly once and shows the live state in the terminal.

            Start a local stack (a Kafka-protocol broker and a private PostgreSQL) with `speedo dev up`; \
            every other command finds it on its own. Against a real cluster, pass -b/--brokers and \
            -d/--database-url (or set SPEEDO_BROKERS and SPEEDO_DATABASE_URL), or keep them in a profile of \
            the configuration file.

            Configuration file: --config FILE, else $SPEEDO_CONFIG, else $XDG_CONFIG_HOME/speedo/config.yaml \
            (~/.config/speedo/config.yaml), else /etc/speedo/config.yaml. It holds named profiles; choose one with \
            --profile NAME (or $SPEEDO_PROFILE, else the file's default-profile). Both options go with any \
            command. A flag beats the environment, which beats the profile, which beats the dev stack. \
            `speedo config show` prints every setting in effect and where it came from.

            Messages on stderr: --log-format json (or $SPEEDO_LOG_FORMAT) writes one JSON object a line \
            (timestamp, level, command, message and fields such as topic, partition, offset and counts) for \
            log collectors; --log-level (or $SPEEDO_LOG_LEVEL: debug, info, notice, warning, error, critical) \
            leaves out what is less severe. Both go with any command.

            Exit status:
            """ + SpeedoExitCode.allCases.map { "\n  \(String($0.rawValue).padding(toLength: 5, withPad: " ", startingAt: 0))\($0.meaning)" }
            .joined(),
        version: SpeedoVersion.current,
        subcommands: [
            Ingest.self, Simulate.self, Consume.self, Watch.self, Gateway.self, Dev.self, Status.self, History.self,
            Replay.self, Verify.self, Db.self, Config.self,
        ]
    )

    /// Runs the chosen command and turns failures into a message on stderr and a sysexits code,
    /// so every subcommand reports errors the same way.
    static func main() async {
        RunConfiguration.bootstrapLog()
        do {
            var command = try await asyncParseAsRoot(try RunConfiguration.prepared.get().arguments)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as any SpeedoFailure {
            // An empty description: the engine already said what happened.
            if !failure.description.isEmpty { Terminal.error(failure.description) }
            Self.exit(withError: ExitCode(failure.exitCode.rawValue))
        } catch {
            Self.exit(withError: error)
        }
    }
}

enum SpeedoVersion {
    static let current = "0.1.0"
}
