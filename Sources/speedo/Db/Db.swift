import ArgumentParser

/// `speedo db <task>`: maintenance of the history database.
struct Db: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Maintain the history in PostgreSQL (retention).",
        subcommands: [DbPrune.self]
    )
}
