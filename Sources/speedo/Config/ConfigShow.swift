import ArgumentParser
import Foundation
import SpeedoConfigFile
import SpeedoCore

struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print every setting in effect and where it came from; passwords are masked.",
        discussion: """
            Resolves the settings as any command would, with the same flags: a flag beats the environment, which \
            beats the profile, which beats the running dev stack, which beats the defaults. Values read from \
            @FILE say which file. Nothing connects. A malformed configuration file, an unknown key or an unknown \
            profile is exit 64, naming the file, the line and the key.

            Examples:
              speedo config show
              speedo --profile production config show
              SPEEDO_CONFIG=./speedo.yaml speedo config show -b localhost:9092
            """
    )

    @OptionGroup(title: "Kafka") var kafka: KafkaOptions

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func run() throws {
        let settings = try ConnectionSettings.resolve(kafka: kafka, database: database)
        let selection = try RunConfiguration.prepared.get().selection
        let searchPath = ConfigSelection.searchPath(environment: ProcessInfo.processInfo.environment)
        print(EffectiveSettings.render(selection: selection, settings: settings, searchPath: searchPath).joined(separator: "\n"))
    }
}
