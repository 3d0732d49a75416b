package import SpeedoCore
import SpeedoKafka
import SpeedoTUI

/// One place where the history and the topic disagree (or, for `conflict`, a disagreement the writer resolved).
package struct VerifyFinding: Sendable, Hashable {
    package enum Kind: String, Sendable, CaseIterable {
        /// A valid record the writer has passed, with no row.
        case missing
        /// A row whose speed is not its record's.
        case mismatch
        /// A row no record of the range produced.
        case unknownOrigin = "unknown-origin"
        /// An invalid record (or a conflicting one) the writer has passed that is not on the dead-letter topic.
        case notDeadLettered = "not-dead-lettered"
        /// The writer group's stored offset lies beyond the partition's end (the topic was recreated?).
        case offsetBeyondEnd = "offset-beyond-end"
        /// Records of one sensor and time with different speeds: the history keeps the first. Not an inconsistency.
        case conflict
    }

    package var kind: Kind
    package var partition: Int32?
    package var offset: Int64?
    package var sensorID: String?
    package var timestamp: Timestamp?
    /// The record's speed.
    package var speed: Double?
    /// The row's speed.
    package var storedSpeed: Double?
    package var detail: String

    package var breaksConsistency: Bool { kind != .conflict }

    static func missing(_ key: ReadingKey, recorded: RecordedReading) -> VerifyFinding {
        VerifyFinding(
            kind: .missing, partition: recorded.partition, offset: recorded.offset, sensorID: key.sensorID,
            timestamp: key.timestamp, speed: recorded.speed,
            detail: "valid record before the group's stored offset, but no row")
    }

    static func mismatch(_ key: ReadingKey, stored: Double, recorded: RecordedReading) -> VerifyFinding {
        VerifyFinding(
            kind: .mismatch, partition: recorded.partition, offset: recorded.offset, sensorID: key.sensorID,
            timestamp: key.timestamp, speed: recorded.speed, storedSpeed: stored,
            detail: "row has speed \(shown(stored)), the record \(shown(recorded.speed))")
    }

    static func unknownOrigin(_ key: ReadingKey, speed: Double) -> VerifyFinding {
        VerifyFinding(
            kind: .unknownOrigin, sensorID: key.sensorID, timestamp: key.timestamp, storedSpeed: speed,
            detail: "row with speed \(shown(speed)) that no record of the topic produced")
    }

    static func notDeadLettered(_ record: InvalidRecord) -> VerifyFinding {
        VerifyFinding(
            kind: .notDeadLettered, partition: record.partition, offset: record.offset,
            detail: "invalid record (\(record.rejection.code): \(record.rejection.reason)) is not on the dead-letter topic")
    }

    static func conflictNotDeadLettered(_ conflict: Conflict) -> VerifyFinding {
        var finding = Self.conflict(conflict)
        finding.kind = .notDeadLettered
        finding.detail = "conflicting record (speed \(shown(conflict.other.speed)); offset \(conflict.kept.offset) has "
            + "\(shown(conflict.kept.speed))) is not on the dead-letter topic"
        return finding
    }

    static func conflict(_ conflict: Conflict) -> VerifyFinding {
        VerifyFinding(
            kind: .conflict, partition: conflict.other.partition, offset: conflict.other.offset,
            sensorID: conflict.key.sensorID, timestamp: conflict.key.timestamp, speed: conflict.other.speed,
            detail: "speed \(shown(conflict.other.speed)) differs from \(shown(conflict.kept.speed)) at offset "
                + "\(conflict.kept.offset) for the same sensor and time: the history keeps the first")
    }

    static func offsetBeyondEnd(partition: Int32, stored: Int64, high: Int64) -> VerifyFinding {
        VerifyFinding(
            kind: .offsetBeyondEnd, partition: partition, offset: stored,
            detail: "the stored offset \(stored) is beyond the partition's end \(high): was the topic recreated? "
                + "(speedo db gaps, and DESIGN.md's guarantees, say what consume postgres does then)")
    }

    private static func shown(_ speed: Double) -> String {
        var text: [UInt8] = []
        CanonicalJSON.appendNumber(speed, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    /// Kind, then position, then sensor and time: the order findings are printed in.
    static func < (lhs: VerifyFinding, rhs: VerifyFinding) -> Bool {
        let order = Kind.allCases
        func key(_ finding: VerifyFinding) -> (Int, Int32, Int64, String, Int64) {
            (order.firstIndex(of: finding.kind)!, finding.partition ?? -1, finding.offset ?? -1, finding.sensorID ?? "",
             finding.timestamp?.microseconds ?? 0)
        }
        return key(lhs) < key(rhs)
    }
}

/// How `speedo verify` prints its findings.
package enum VerifyFormat: String, Sendable, CaseIterable {
    case table
    case ndjson
}

/// What `speedo verify` found: the counts of its summary line and each finding.
package struct VerifyReport: Sendable {
    package var topic: String
    package var group: String
    /// Valid records of the range (of the chosen sensors).
    package var validRecords = 0
    /// Invalid records of the range.
    package var invalidRecords = 0
    /// Records of the range found on the dead-letter topic.
    package var deadLettered = 0
    /// Records at or after the group's stored offsets: the writer has not reached them yet.
    package var notYetWritten = 0
    /// Rows of the range.
    package var rows = 0
    /// Rows older than the first record that a partition truncated by retention still holds: not checked.
    package var rowsBeforeRetention = 0
    /// Valid records older than where `db prune` left the rows: not checked.
    package var recordsPruned = 0
    package var prunedBefore: Timestamp?
    /// Records from the group's stored offsets to the partitions' ends, over all partitions.
    package var lag: Int64 = 0
    var conflicts: [Conflict] = []
    package var findings: [VerifyFinding] = []

    package init(topic: String, group: String) {
        (self.topic, self.group) = (topic, group)
    }

    package var isConsistent: Bool { !findings.contains { $0.breaksConsistency } }

    package func count(of kind: VerifyFinding.Kind) -> Int { findings.count { $0.kind == kind } }

    /// Stored offsets against the partitions' watermarks: lag, or offsets beyond the end.
    mutating func compare(offsets stored: [Int32: Int64], with watermarks: [Int32: Watermarks]) {
        for (partition, marks) in watermarks {
            lag += max(0, marks.high - max(stored[partition] ?? marks.low, marks.low))
        }
        for (partition, offset) in stored where offset > watermarks[partition]?.high ?? 0 {
            findings.append(.offsetBeyondEnd(partition: partition, stored: offset, high: watermarks[partition]?.high ?? 0))
        }
    }

    /// Conflicts become findings, and all of them are put in print order.
    mutating func finish() {
        findings += conflicts.map(VerifyFinding.conflict)
        findings.sort(by: <)
    }

    /// The line that ends every run, on stderr.
    package var summary: String {
        var counts = "\(grouped(validRecords + invalidRecords)) records (\(grouped(invalidRecords)) invalid) "
            + "against \(grouped(rows)) rows"
        if deadLettered > 0 { counts += "; \(grouped(deadLettered)) dead-lettered" }
        if notYetWritten > 0 { counts += "; \(grouped(notYetWritten)) not yet written by \(group) (lag \(grouped(Int(lag))))" }
        if rowsBeforeRetention > 0 {
            counts += "; \(grouped(rowsBeforeRetention)) rows older than what the topic still holds, not checked"
        }
        if recordsPruned > 0, let prunedBefore {
            counts += "; \(grouped(recordsPruned)) records older than the rows db prune kept (before "
                + "\(prunedBefore.rfc3339)), not checked"
        }
        if !conflicts.isEmpty { counts += "; \(grouped(conflicts.count)) conflicting records (the history keeps the first)" }
        guard !isConsistent else { return "speedo verify: consistent: \(counts)" }
        let problems = VerifyFinding.Kind.allCases.filter { $0 != .conflict }.compactMap { kind -> String? in
            let count = count(of: kind)
            return count == 0 ? nil : "\(grouped(count)) \(kind.rawValue)"
        }
        return "speedo verify: NOT consistent: \(problems.joined(separator: ", ")): \(counts)"
    }

    /// The findings in `format`, one a line (table: with a header, nothing when there are none).
    package func rendered(_ format: VerifyFormat) -> String {
        switch format {
        case .ndjson:
            return findings.map { finding in
                var line: [UInt8] = []
                func field(_ name: String, _ append: (inout [UInt8]) -> Void) {
                    line += line.isEmpty ? Array("{\"".utf8) : Array(",\"".utf8)
                    line += Array(name.utf8) + Array("\":".utf8)
                    append(&line)
                }
                field("kind") { CanonicalJSON.appendString(finding.kind.rawValue, to: &$0) }
                field("topic") { CanonicalJSON.appendString(topic, to: &$0) }
                if let partition = finding.partition { field("partition") { $0 += Array(String(partition).utf8) } }
                if let offset = finding.offset { field("offset") { $0 += Array(String(offset).utf8) } }
                if let sensorID = finding.sensorID { field("sensor_id") { CanonicalJSON.appendString(sensorID, to: &$0) } }
                if let timestamp = finding.timestamp { field("ts") { CanonicalJSON.appendString(timestamp.rfc3339, to: &$0) } }
                if let speed = finding.speed { field("speed") { CanonicalJSON.appendNumber(speed, to: &$0) } }
                if let stored = finding.storedSpeed { field("stored_speed") { CanonicalJSON.appendNumber(stored, to: &$0) } }
                field("detail") { CanonicalJSON.appendString(finding.detail, to: &$0) }
                line += Array("}\n".utf8)
                return String(decoding: line, as: UTF8.self)
            }.joined()
        case .table:
            guard !findings.isEmpty else { return "" }
            var table = TextTable([
                .init("KIND"), .init("PARTITION", .right), .init("OFFSET", .right), .init("SENSOR"), .init("TS"),
                .init("DETAIL"),
            ])
            for finding in findings {
                table.append([
                    finding.kind.rawValue, finding.partition.map { "\($0)" } ?? "-", finding.offset.map { "\($0)" } ?? "-",
                    finding.sensorID.map { EscapedText.escape($0) } ?? "-", finding.timestamp?.rfc3339 ?? "-",
                    EscapedText.escape(finding.detail),
                ])
            }
            return table.render().map { $0 + "\n" }.joined()
        }
    }
}
