import Foundation
package import SpeedoCore
package import SpeedoKafka
import SpeedoRuntime

/// Where `consume stdout` starts reading a partition.
package enum StartPosition: String, CaseIterable {
    case beginning, end
    /// The group's committed offsets.
    case stored
}

/// What `speedo consume stdout` was asked to do.
package struct StdoutPumpSettings {
    package var consumer: ConsumeSettings
    /// nil: a private assignment of every partition, nothing committed.
    package var group: String?
    /// Without a group: where every partition starts. With one: where partitions without a committed offset start.
    package var start: StartPosition
    package var format: ReadingTextFormat

    package init(consumer: ConsumeSettings, group: String?, start: StartPosition, format: ReadingTextFormat) {
        (self.consumer, self.group, self.start, self.format) = (consumer, group, start, format)
    }
}

package enum StdoutPumpOutcome {
    /// `--exit-at-end`: every partition read was read to its end.
    case reachedEnd
    /// Standard output was closed by its reader (`| head`).
    case readerGone
    /// SIGINT/SIGTERM, after writing (and, in a group, committing) what was read.
    case stopped
}

/// The pump of `speedo consume stdout`: reads the topic (privately or as a group member), writes every valid
/// reading as a line and notes every invalid record on stderr. In a group, offsets are committed only after the
/// lines they cover were written: at least once to standard output.
///
/// Threading: `run` blocks its thread for the whole run, and the `ConsumerLoop` calls the pump on that thread only.
package struct StdoutPump: ConsumerPump {
    private let settings: StdoutPumpSettings
    private var output: StandardOutputSink
    private var pending: [Reading] = []
    private var written = 0
    private var skipped = 0
    private var readerGone = false
    /// Whether "caught up" was said on stderr (once per run).
    private var saidCaughtUp = false

    private static let batchLimit = 10_000

    package init(settings: StdoutPumpSettings) {
        self.settings = settings
        output = StandardOutputSink(format: settings.format)
    }

    package mutating func run() throws -> StdoutPumpOutcome {
        let loop = try settings.consumer.loop(command: "consume stdout", membership: settings.group.map(ConsumerMembership.group) ?? .everyPartition)
        let stop = settings.consumer.stop
        let outcome = try loop.run(&self) { stop.isRequested }
        if outcome != .readerGone { try output.finish() }
        settings.consumer.notes.note("speedo: consume stdout: \(grouped(written)) readings written, \(grouped(skipped)) invalid "
            + "records skipped")
        return outcome
    }

    // MARK: - The loop's calls

    package var wantsMoreRecords: Bool { pending.count < Self.batchLimit && !readerGone }

    package func connected(_ loop: ConsumerLoop) {
        if let group = settings.group {
            settings.consumer.notes.note("speedo: consume stdout: reading \(settings.consumer.topic) as group \(group)")
        }
    }

    package mutating func stopRequested(_ loop: ConsumerLoop) throws -> StdoutPumpOutcome {
        try commit(loop, partitions: loop.positions.ids)
        return readerGone ? .readerGone : .stopped
    }

    package mutating func caughtUp(_ loop: ConsumerLoop) throws -> StdoutPumpOutcome? {
        if !saidCaughtUp {
            // Like kcat's "Reached end of topic": from here on, every line is new.
            settings.consumer.notes.note("speedo: consume stdout: caught up with \(settings.consumer.topic) (\(loop.positions.count) partitions)")
            saidCaughtUp = true
        }
        guard settings.consumer.exitAtEnd else { return nil }
        try commit(loop, partitions: loop.positions.ids)
        return readerGone ? .readerGone : .reachedEnd
    }

    package mutating func handle(_ record: ConsumedRecord, _ loop: ConsumerLoop) {
        switch record.verdict(now: Timestamp.current()) {
        case .valid(let reading):
            pending.append(reading)
        case .invalid(let letter):
            skipped += 1
            settings.consumer.notes.note(
                "\(record.position): \(letter.reason)",
                fields: ["topic": record.topic, "partition": "\(record.partition)", "offset": "\(record.offset)"])
        }
    }

    package mutating func turnEnded(_ loop: ConsumerLoop) throws -> StdoutPumpOutcome? {
        try writePending()
        return readerGone ? .readerGone : nil
    }

    package mutating func commit(_ loop: ConsumerLoop) throws {
        try commit(loop, partitions: loop.positions.ids)
    }

    /// Without a group, every partition starts at --from; in one, at the group's committed offset, else at
    /// auto.offset.reset (set from --from).
    package func assigned(_ partitions: [Int32], _ loop: ConsumerLoop) -> [Int32: PartitionStart] {
        guard settings.group == nil else { return [:] }
        let start: PartitionStart = settings.start == .end ? .end : .beginning
        return Dictionary(uniqueKeysWithValues: partitions.map { ($0, start) })
    }

    /// Commits what was written while the partitions are still ours: the next owner starts there.
    package mutating func revoked(_ partitions: [Int32], _ loop: ConsumerLoop) throws {
        try commit(loop, partitions: partitions)
    }

    // MARK: - Writing and committing

    private mutating func writePending() throws {
        guard !pending.isEmpty, !readerGone else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        if try output.write(pending) == .closed {
            readerGone = true
        } else {
            written += pending.count
        }
    }

    /// Commits the positions of `ids` whose lines are all written; never after the reader went away, since some
    /// lines read may not have reached it.
    private mutating func commit(_ loop: ConsumerLoop, partitions ids: [Int32]) throws {
        guard settings.group != nil, !readerGone else { return }
        try writePending()
        guard !readerGone else { return }
        var written: [Int32: Int64] = [:]
        for id in ids { written[id] = loop.positions[id]?.next }
        do {
            try loop.commit(written)
        } catch {
            // At least once: the next member reads these records again.
            settings.consumer.notes.note("speedo: consume stdout: could not commit offsets (\(error.message)); retrying later")
        }
    }
}
