import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTUI

struct DbGaps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaps",
        abstract: "List the records the history is missing because the brokers removed them first.",
        discussion: """
            `speedo consume postgres` records a gap (in speedo_history_gaps) whenever the records it was to read \
            next were no longer on the topic: retention, or the dev broker's size limit, removed them while the \
            writer was stopped or behind. Those readings are not in the history and cannot be read again from \
            Kafka. `speedo status --check` is critical while a gap is not acknowledged.

            Lists the gaps not acknowledged yet (with --all, every gap) on stdout: group, topic, partition, the \
            first and last missing offset, how many records, when it was found. --acknowledge marks the listed \
            gaps as seen (after you have restored the readings from elsewhere, or accepted the loss).

            Examples:
              speedo db gaps
              speedo db gaps --acknowledge
            """
    )

    @Flag(help: "Also list gaps acknowledged before.")
    var all = false

    @Flag(help: "Mark the gaps listed as acknowledged: `status --check` stops counting them.")
    var acknowledge = false

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func run() async throws {
        let url = try database.resolvedURL()
        let gaps = try await DatabaseMaintenance.gaps(
            databaseURL: url, includeAcknowledged: all, acknowledge: acknowledge, notes: .standardError)
        var table = TextTable([
            .init("GROUP"), .init("TOPIC"), .init("PARTITION", .right), .init("FIRST", .right), .init("LAST", .right),
            .init("RECORDS", .right), .init("DETECTED"), .init("ACKNOWLEDGED"),
        ])
        for gap in gaps {
            table.append([
                EscapedText.escape(gap.group), EscapedText.escape(gap.topic), "\(gap.partition)", "\(gap.firstOffset)",
                "\(gap.lastOffset)", grouped(gap.recordCount), gap.detectedAt.rfc3339,
                gap.acknowledgedAt?.rfc3339 ?? (acknowledge ? "now" : "no"),
            ])
        }
        if !gaps.isEmpty { print(table.render().joined(separator: "\n")) }
        let missing = gaps.reduce(Int64(0)) { $0 + $1.recordCount }
        Terminal.note(gaps.isEmpty
            ? "speedo: db gaps: no \(all ? "" : "unacknowledged ")gaps: every record was read before it was removed"
            : "speedo: db gaps: \(count(gaps.count, "gap")), \(grouped(missing)) records missing from the history"
                + (acknowledge ? "; acknowledged" : ""))
    }
}
