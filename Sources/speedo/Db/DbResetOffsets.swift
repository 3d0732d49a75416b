import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct DbResetOffsets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-offsets",
        abstract: "Set where a `consume postgres` group resumes reading the topic.",
        discussion: """
            `speedo consume postgres` keeps the offset each partition resumes from in PostgreSQL \
            (speedo_consumer_offsets), written with the rows. It never changes them on its own: when the topic \
            was deleted and created again (a new broker, `speedo dev up` after the dev broker was lost), the stored \
            offsets lie beyond the new partitions' ends and the writer stops, saying so. This command is the \
            operator's way on:

              --to earliest   forget the stored offsets: the writer reads from the earliest record the brokers hold
              --to latest     resume at each partition's current end: what is on the topic now is skipped
              --to OFFSET     resume at this offset (with --partition)

            Rows already stored stay; a reading read again is absorbed as already there. Stop the group's writers \
            first: a running writer would store its own offsets again with its next batch. Prints each partition's \
            offset before and after on stdout.

            Examples:
              speedo db reset-offsets --to earliest
              speedo db reset-offsets --group history-eu --to latest
              speedo db reset-offsets --partition 3 --to 1200
            """
    )

    @Option(help: ArgumentHelp("The consumer group whose offsets to set.", valueName: "id"))
    var group = ConsumeSettings.historyGroup

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("earliest, latest, or an offset of 0 or more (with --partition).", valueName: "earliest|latest|offset"))
    var to: String

    @Option(
        parsing: .unconditionalSingleValue,
        help: ArgumentHelp("Only this partition, 0 or more (repeatable); default: every partition of the topic.", valueName: "n"))
    var partition: [Int32] = []

    @OptionGroup var connection: KafkaAndDatabaseOptions

    private func target() throws -> DatabaseMaintenance.OffsetTarget {
        switch to {
        case "earliest": return .earliest
        case "latest": return .latest
        default:
            guard let offset = Int64(to), offset >= 0 else {
                throw ValidationError("--to must be earliest, latest or an offset of 0 or more (got \(to))")
            }
            guard !partition.isEmpty else {
                throw ValidationError("--to \(to) needs --partition: an offset means something in one partition only")
            }
            return .offset(offset)
        }
    }

    func validate() throws {
        _ = try target()
        guard !group.isEmpty else { throw ValidationError("--group must not be empty") }
        for partition in partition { try OptionBounds.check(partition, "--partition", 0...) }
    }

    func run() async throws {
        let settings = try connection.resolved()
        let topic = settings.topic.value
        let moves = try await DatabaseMaintenance.resetOffsets(
            settings: settings, group: group, partitions: partition, to: try target(),
            connectTimeout: try connection.kafka.startupWait(), notes: .standardError)
        var listing = ""
        for move in moves {
            listing += "\(topic)[\(move.partition)]  \(move.before.map(String.init) ?? "earliest") -> "
                + "\(move.after.map(String.init) ?? "earliest")\n"
        }
        FileHandle.standardOutput.write(Data(listing.utf8))
        Terminal.note("speedo: db reset-offsets: group \(group) resumes \(count(moves.count, "partition")) of "
            + "\(topic) as listed; start its writers again")
    }
}
