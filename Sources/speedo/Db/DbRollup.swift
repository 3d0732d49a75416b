import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct DbRollup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollup",
        abstract: "Show the per-sensor rollups of the history, or rebuild them from the rows.",
        discussion: """
            Where PostgreSQL has the tdigest extension, `consume postgres` keeps rollups a minute and an hour wide \
            (speed_rollups_1m, speed_rollups_1h: count, sum, minimum, maximum and a t-digest per sensor), which \
            `history --bucket` reads for buckets of whole minutes or hours. Without options this prints, for each, \
            its buckets, the readings they count, and its first and last bucket.

            --rebuild --since T recomputes them from the rows from T on (rounded down to the minute and the hour), \
            in one transaction: after rows were fixed by hand or written by something else than speedo's writer. \
            Running it again changes nothing. Where the extension was installed after speedo made its schema, it \
            makes the rollups first, from every row.

            Examples:
              speedo db rollup
              speedo db rollup --rebuild --since 2024-05-01T00:00:00Z
            """
    )

    @Flag(help: "Recompute the rollups from the rows from --since on.")
    var rebuild = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("With --rebuild: where to start, written as for history (e.g. 7d, 2024-05-01T00:00:00Z).", valueName: "time"))
    var since: String?

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func validate() throws {
        if rebuild && since == nil { throw ValidationError("--rebuild needs --since: where to start recomputing") }
        if !rebuild && since != nil { throw ValidationError("--since goes with --rebuild") }
        if let since { _ = try OptionBounds.time(since, "--since", now: Timestamp.current()) }
    }

    func run() async throws {
        let url = try database.resolvedURL()
        if let since {
            let start = try OptionBounds.time(since, "--since", now: Timestamp.current())
            for rebuilt in try await DatabaseMaintenance.rebuildRollups(databaseURL: url, since: start, notes: .standardError) {
                print("\(rebuilt.table)  from \(rebuilt.from.rfc3339)  \(grouped(rebuilt.removed)) buckets removed, "
                    + "\(grouped(rebuilt.written)) written")
            }
            return
        }
        let extents = try await DatabaseMaintenance.rollupExtents(databaseURL: url, notes: .standardError)
        if extents.isEmpty {
            Terminal.note("speedo: db rollup: this database keeps no rollups (PostgreSQL has no tdigest extension); "
                + "history --bucket reads the rows")
        }
        for extent in extents {
            print("\(extent.table)  \(grouped(extent.buckets)) buckets, \(grouped(extent.readings)) readings, "
                + "\(extent.first?.rfc3339 ?? "-") .. \(extent.last?.rfc3339 ?? "-")")
        }
    }
}
