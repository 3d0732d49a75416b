import ArgumentParser
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

/// `speedo consume <sink>`: one subcommand per place the readings topic is written to.
struct Consume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read the readings topic and write it somewhere: PostgreSQL, the latest state per sensor, standard output.",
        subcommands: [ConsumePostgres.self, ConsumeLatest.self, ConsumeStdout.self]
    )
}
