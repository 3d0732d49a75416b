import ArgumentParser

/// `speedo db <task>`: maintenance of the history database.
struct Db: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Maintain the history in PostgreSQL: retention, gaps, where writers resume, rollups.",
        subcommands: [DbPrune.self, DbGaps.self, DbResetOffsets.self, DbRollup.self]
    )
}
