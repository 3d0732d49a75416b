import ArgumentParser

/// `speedo consume <sink>`: one subcommand per place the readings topic is written to.
struct Consume: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the readings topic as a consumer group and write it somewhere.",
        subcommands: [ConsumePostgres.self, ConsumeLatest.self, ConsumeStdout.self]
    )
}
