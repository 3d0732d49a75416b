import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct DbPrune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Drop the daily partitions of speed_readings older than a retention age.",
        discussion: """
            speed_readings is split into one partition per UTC day (speed_readings_YYYYMMDD). Pruning drops whole \
            partitions whose day ends at or before now minus --older-than: instant, and leaving nothing to vacuum. \
            A partition that may hold a newer reading is never dropped, so up to one more day than --older-than is \
            kept (with --older-than 30d, today's prune keeps the last 30 to 31 days). A DEFAULT partition, if \
            someone added one, is always kept.

            Each dropped partition is printed on stdout (name, time range, rows) and a summary goes to stderr; \
            --dry-run prints what would go and changes nothing. The rollups (see `speedo db rollup`) are kept, so \
            `history --bucket` still answers for pruned days; --with-rollups deletes their buckets of the same days \
            too. Where the rows start is recorded, for `verify` and `history` to say what was pruned.

            Safe while `speedo consume postgres` runs: the prune takes the lock writers take to create partitions, \
            then locks speed_readings while it counts the rows of the partitions it drops and drops them (writers \
            wait meanwhile, nothing fails). If a long query holds the table for more than 5 s the prune gives up \
            (exit 69) rather than stall the writers behind it; run it again later. A writer that still has older readings to store (a backfill) re-creates their day, \
            and the next prune drops it again.

            Run it daily, e.g. from cron:
              15 3 * * *  speedo db prune --older-than 30d -d postgresql://speedo@db/speedo

            Examples:
              speedo db prune --older-than 7d --dry-run
              speedo db prune --older-than 90d
            """
    )

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Retention age: drop partitions whose whole day ended at least this long ago (e.g. 7d, 12h, 2w), from 1s to 36500d.",
            valueName: "duration"))
    var olderThan: String

    @Flag(help: "List the partitions that would be dropped, with their rows; change nothing.")
    var dryRun = false

    @Flag(help: "Also delete the rollups' buckets of the days dropped (by default they stay, for history --bucket).")
    var withRollups = false

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func validate() throws {
        _ = try age()
    }

    private func age() throws -> TimeSpan {
        try OptionBounds.duration(olderThan, "--older-than", .seconds(1)...TimeSpan.days(36_500), hint: "; e.g. 30d keeps a month")
    }

    func run() async throws {
        let url = try database.resolvedURL()
        let age = try age()
        let now = Timestamp.current()
        let outcome = try await DatabaseMaintenance.prune(
            databaseURL: url, olderThan: age, now: now, dryRun: dryRun, withRollups: withRollups,
            notes: .standardError)
        let partitions = outcome.partitions
        let verb = dryRun ? "would drop" : "dropped"
        var listing = ""
        for partition in partitions {
            let range = "\(partition.lower?.rfc3339 ?? "MINVALUE") .. \(partition.upper.rfc3339)"
            listing += "\(verb) \(partition.name)  \(range)  \(grouped(partition.rows)) rows\n"
        }
        FileHandle.standardOutput.write(Data(listing.utf8))
        let cutoff = (now - age).rfc3339
        let rows = partitions.reduce(0) { $0 + $1.rows }
        let count = partitions.count == 1 ? "1 partition" : "\(partitions.count) partitions"
        let rollups = withRollups ? "; \(verb) \(grouped(outcome.rollupBuckets)) rollup buckets of those days" : "; rollups kept"
        Terminal.note(partitions.isEmpty
            ? "speedo: db prune: no partition ends at or before \(cutoff); nothing to drop\(withRollups ? rollups : "")"
            : "speedo: db prune: \(verb) \(count) (\(grouped(rows)) rows) ending at or before \(cutoff)\(rollups)")
    }
}
