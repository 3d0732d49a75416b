import Foundation
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
package import SpeedoStore
import SpeedoTUI

/// What `speedo status` learns from Kafka. Gathering never throws: an unreachable cluster is part of the report.
package struct KafkaStatusReport {
    package var brokers: ResolvedSetting
    package var metadata: ClusterMetadata?
    package var watermarks: [String: [Int32: Watermarks]] = [:]
    /// Offsets committed to Kafka by groups that keep them there (e.g. `consume stdout --group`).
    package var committedGroups: [String: [TopicPartition: Int64]] = [:]
    /// False when the cluster would not list its consumer groups (librdkafka's mock cannot).
    package var groupsListed = true
    package var failure: String?

    package init(brokers: ResolvedSetting) {
        self.brokers = brokers
    }

    package static func gather(settings: ConnectionSettings, timeout: Duration) -> KafkaStatusReport {
        var report = KafkaStatusReport(brokers: settings.brokers)
        // An unreachable cluster is reported once, in the report, rather than by every failed connection.
        KafkaLog.show(upTo: .critical)
        do {
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(settings))
            try admin.waitForBrokers(timeout: timeout)
            let metadata = try admin.metadata(timeout: timeout)
            for topic in metadata.topics where topic.error == nil && !topic.name.hasPrefix("__") {
                report.watermarks[topic.name] = try admin.watermarks(topic: topic.name, timeout: timeout)
            }
            report.metadata = metadata
            report.readCommittedGroups(admin, metadata, timeout: timeout)
        } catch {
            report.failure = error.description
        }
        return report
    }

    private mutating func readCommittedGroups(_ admin: KafkaAdmin, _ metadata: ClusterMetadata, timeout: Duration) {
        let partitions = metadata.topics.filter { watermarks[$0.name] != nil }.flatMap(\.topicPartitions)
        do {
            for group in try admin.listConsumerGroups(timeout: timeout) {
                committedGroups[group] = try admin.committedOffsets(group: group, partitions: partitions, timeout: timeout)
            }
        } catch {
            groupsListed = false
        }
    }

    /// Lag is measured against the offsets `consume postgres` stores in PostgreSQL with the rows.
    package func render(lagFrom offsets: [StoreStatusReport.ConsumerOffset]) -> [String] {
        guard let metadata else {
            return ["Kafka       \(brokers)", "            unreachable: \(failure ?? "unknown error")"]
        }
        var lines = ["Kafka       \(brokers): \(count(metadata.brokers.count, "broker"))"]
        var brokerTable = TextTable([.init("BROKER", .right), .init("ADDRESS")])
        for broker in metadata.brokers.sorted(by: { $0.id < $1.id }) {
            brokerTable.append(["\(broker.id)", "\(broker.host):\(broker.port)"])
        }
        lines += [""] + brokerTable.render()

        var topicTable = TextTable([
            .init("TOPIC"), .init("PARTITION", .right), .init("LEADER", .right), .init("LOW", .right),
            .init("HIGH", .right), .init("RECORDS", .right),
        ])
        for topic in metadata.topics.sorted(by: { $0.name < $1.name }) where !topic.name.hasPrefix("__") {
            for partition in topic.partitions.sorted(by: { $0.id < $1.id }) {
                let marks = watermarks[topic.name]?[partition.id]
                topicTable.append([
                    EscapedText.escape(topic.name), "\(partition.id)", "\(partition.leader)",
                    marks.map { grouped($0.low) } ?? "?", marks.map { grouped($0.high) } ?? "?",
                    marks.map { grouped($0.high - $0.low) } ?? "?",
                ])
            }
        }
        lines += [""] + (topicTable.rows.isEmpty ? ["no topics yet"] : topicTable.render())

        var lagTable = TextTable([
            .init("GROUP"), .init("TOPIC"), .init("PARTITION", .right), .init("NEXT OFFSET", .right),
            .init("HIGH", .right), .init("LAG", .right), .init("OFFSETS IN"),
        ])
        let committed = committedGroups.sorted { $0.key < $1.key }.flatMap { group, offsets in
            offsets.sorted { ($0.key.topic, $0.key.partition) < ($1.key.topic, $1.key.partition) }.map { position, next in
                StoreStatusReport.ConsumerOffset(
                    group: group, topic: position.topic, partition: position.partition, nextOffset: next, keptIn: "Kafka")
            }
        }
        for offset in offsets + committed {
            let marks = watermarks[offset.topic]?[offset.partition]
            lagTable.append([
                EscapedText.escape(offset.group), EscapedText.escape(offset.topic), "\(offset.partition)",
                grouped(offset.nextOffset), marks.map { grouped($0.high) } ?? "?",
                marks.map { Self.lag(offset.nextOffset, $0) } ?? "?", offset.keptIn,
            ])
        }
        lines += [""] + (lagTable.rows.isEmpty ? ["no consumer group has stored offsets yet"] : lagTable.render())
        if !groupsListed {
            lines.append("(groups that commit their offsets to Kafka are not shown: this cluster would not list them)")
        }
        return lines
    }

    /// What a stored offset means against the partition's watermarks: a lag, or one of the two states a writer
    /// cannot resume from without loss or an operator.
    package enum Position: Equatable {
        case lag(Int64)
        /// The brokers removed records before the group read them; the writer records the gap when it resumes.
        case behindLogStart(missing: Int64)
        /// Past the end: the topic was deleted and created again, or truncated.
        case beyondEnd(by: Int64)

        package init(next: Int64, _ marks: Watermarks) {
            if next > marks.high {
                self = .beyondEnd(by: next - marks.high)
            } else if next < marks.low {
                self = .behindLogStart(missing: marks.low - next)
            } else {
                self = .lag(marks.high - next)
            }
        }
    }

    private static func lag(_ next: Int64, _ marks: Watermarks) -> String {
        switch Position(next: next, marks) {
        case .lag(let records): grouped(records)
        case .behindLogStart(let missing): "\(grouped(marks.high - next)) (GAP: \(grouped(missing)) gone)"
        case .beyondEnd(let by): "BEYOND END by \(grouped(by))"
        }
    }

    /// Every stored offset whose position needs an operator, as words.
    package func troubles(in offsets: [StoreStatusReport.ConsumerOffset]) -> [String] {
        offsets.compactMap { offset in
            guard let marks = watermarks[offset.topic]?[offset.partition] else { return nil }
            let place = "group \(offset.group) \(offset.topic)[\(offset.partition)]"
            switch Position(next: offset.nextOffset, marks) {
            case .lag: return nil
            case .behindLogStart(let missing):
                return "\(place): \(grouped(missing)) records removed before they were stored"
            case .beyondEnd:
                return "\(place): stored offset \(offset.nextOffset) beyond the end \(marks.high) (topic recreated?)"
            }
        }
    }
}

/// What `speedo status` learns from PostgreSQL.
package struct StoreStatusReport {
    package struct ConsumerOffset {
        package var group: String
        package var topic: String
        package var partition: Int32
        package var nextOffset: Int64
        /// Where the group keeps its offsets: PostgreSQL (with the rows, exactly once) or Kafka.
        package var keptIn: String

        package init(group: String, topic: String, partition: Int32, nextOffset: Int64, keptIn: String = "PostgreSQL") {
            (self.group, self.topic, self.partition, self.nextOffset, self.keptIn) = (group, topic, partition, nextOffset, keptIn)
        }
    }

    package struct SensorSummary {
        package var sensorID: String
        package var readings: Int64
        package var first: Timestamp
        package var last: Timestamp
    }

    package var databaseURL: ResolvedSetting
    package var server: String?
    package var schemaVersion = 0
    package var readings: Int64 = 0
    package var partitions = 0
    package var sensorCount = 0
    package var topSensors: [SensorSummary] = []
    package var consumerOffsets: [ConsumerOffset] = []
    /// Gaps not acknowledged yet.
    package var gaps: [RecordedGap] = []
    package var conflicts = 0
    package var lastConflict: Timestamp?
    /// The rollups' extents (empty: the database keeps none).
    package var rollups: [HistoryRollups.Extent] = []
    /// The oldest reading the rows hold, and where `db prune` left them.
    package var oldestRow: Timestamp?
    package var rowsPrunedBefore: Timestamp?
    /// The newest reading of every sensor heard from within the span asked for (`status --check --max-silence`).
    package var lastSeen: [SensorLastSeen] = []
    package var failure: String?

    package struct SensorLastSeen: Sendable {
        package var sensorID: String
        package var last: Timestamp

        package init(sensorID: String, last: Timestamp) {
            (self.sensorID, self.last) = (sensorID, last)
        }
    }

    package init(databaseURL: ResolvedSetting) {
        self.databaseURL = databaseURL
    }

    /// `lastSeenWithin`: also read each sensor's newest reading, for the sensors heard from within that span.
    package static func gather(
        settings: ConnectionSettings, timeout: Duration, top: Int, lastSeenWithin: TimeSpan? = nil, notes: Notes
    ) -> StoreStatusReport {
        var report = StoreStatusReport(databaseURL: settings.databaseURL)
        do {
            let retry = Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: timeout)
            let connection = try PostgresConnection.connect(settings.databaseURL.value, retry: retry) { notice in
                notes.note("speedo: \(notice)")
            }
            defer { connection.close() }
            report.server = "PostgreSQL \(versionText(connection.serverVersion)) at \(connection.server)"
            report.schemaVersion = try SchemaMigrations.currentVersion(on: connection)
            guard report.schemaVersion > 0 else { return report }
            try report.readContents(of: connection, top: top)
            if let lastSeenWithin { try report.readLastSeen(of: connection, within: lastSeenWithin) }
        } catch {
            report.failure = "\(error)"
        }
        return report
    }

    private mutating func readContents(of connection: PostgresConnection, top: Int) throws {
        let totals = try connection.query("""
            select count(*) as readings, count(distinct sensor_id) as sensors,
                   extract(epoch from min(ts))::float8 as oldest,
                   (select count(*) from pg_inherits where inhparent = 'speed_readings'::regclass) as partitions
            from speed_readings
            """)
        readings = Int64(try totals.first?.int("readings") ?? 0)
        sensorCount = try totals.first?.int("sensors") ?? 0
        partitions = try totals.first?.int("partitions") ?? 0
        oldestRow = try totals.first?.double("oldest").flatMap { Timestamp(seconds: $0) }
        rowsPrunedBefore = try connection.rowsPrunedBefore()
        rollups = try HistoryRollups.extents(on: connection)

        topSensors = try connection.query("""
            select sensor_id, count(*) as readings,
                   extract(epoch from min(ts))::float8 as first, extract(epoch from max(ts))::float8 as last
            from speed_readings group by sensor_id order by count(*) desc, sensor_id limit $1
            """, [String(top)]).map { row in
            SensorSummary(
                sensorID: row["sensor_id"] ?? "",
                readings: Int64(try row.int("readings") ?? 0),
                first: Timestamp(seconds: try row.double("first") ?? 0) ?? Timestamp(microseconds: 0),
                last: Timestamp(seconds: try row.double("last") ?? 0) ?? Timestamp(microseconds: 0))
        }

        if schemaVersion >= 3 {
            gaps = try HistoryLedger.gaps(on: connection, includeAcknowledged: false)
            (conflicts, lastConflict) = try HistoryLedger.conflicts(on: connection)
        }

        consumerOffsets = try connection.query("""
            select group_id, topic, partition, next_offset from speedo_consumer_offsets order by 1, 2, 3
            """).map { row in
            ConsumerOffset(
                group: row["group_id"] ?? "", topic: row["topic"] ?? "",
                partition: Int32(try row.int("partition") ?? 0), nextOffset: Int64(try row.int("next_offset") ?? 0))
        }
    }

    private mutating func readLastSeen(of connection: PostgresConnection, within span: TimeSpan) throws {
        lastSeen = try connection.query("""
            select sensor_id, extract(epoch from max(ts))::float8 as last from speed_readings
            where ts > now() - make_interval(secs => $1) group by sensor_id
            """, [String(span.seconds)]).map { row in
            SensorLastSeen(
                sensorID: row["sensor_id"] ?? "",
                last: Timestamp(seconds: try row.double("last") ?? 0) ?? Timestamp(microseconds: 0))
        }
    }

    package func render() -> [String] {
        guard let server else {
            return ["PostgreSQL  \(databaseURL.redacted)", "            unreachable: \(failure ?? "unknown error")"]
        }
        var lines = ["PostgreSQL  \(databaseURL.redacted): \(server)"]
        guard schemaVersion > 0 else {
            return lines + ["            no speedo schema yet (`speedo dev up` or `speedo consume postgres` creates it)"]
        }
        lines.append(
            "            schema v\(schemaVersion), \(count(readings, "reading")) from \(count(sensorCount, "sensor")) "
                + "in \(count(partitions, "daily partition"))"
                + (oldestRow.map { ", the oldest of \($0.rfc3339)" } ?? "")
                + (rowsPrunedBefore.map { " (db prune dropped the rows before \($0.rfc3339))" } ?? ""))
        lines.append(rollups.isEmpty
            ? "            no rollups (PostgreSQL has no tdigest extension): history --bucket reads the rows"
            : "            rollups: " + rollups.map { rollup in
                "\(rollup.table) \(count(rollup.buckets, "bucket"))"
                    + (rollup.first.map { " from \($0.rfc3339)" } ?? "")
            }.joined(separator: ", "))
        if !gaps.isEmpty {
            let missing = gaps.reduce(Int64(0)) { $0 + $1.recordCount }
            lines.append("            NOT STORED: \(count(gaps.count, "gap")) not acknowledged, \(grouped(missing)) records "
                + "removed by the brokers before they were read (`speedo db gaps`)")
        }
        if conflicts > 0 {
            lines.append("            NOT STORED: \(count(conflicts, "conflicting reading")) (another speed stored for the "
                + "same sensor and time; in speedo_history_conflicts and the dead-letter topic), the last at "
                + "\(lastConflict?.rfc3339 ?? "?")")
        }
        guard !topSensors.isEmpty else { return lines }
        var table = TextTable([.init("SENSOR"), .init("READINGS", .right), .init("FIRST"), .init("LAST")])
        for sensor in topSensors {
            table.append([
                EscapedText.escape(sensor.sensorID), grouped(sensor.readings), sensor.first.rfc3339, sensor.last.rfc3339,
            ])
        }
        let heading = sensorCount > topSensors.count
            ? "The \(topSensors.count) sensors with the most readings (of \(sensorCount)):" : "Sensors:"
        return lines + ["", heading] + table.render()
    }

    private static func versionText(_ number: Int) -> String {
        "\(number / 10000).\(number % 10000)"
    }
}

extension ResolvedSetting {
    /// The setting as it may be shown: passwords masked.
    package var redacted: String { "\(ConnectionString.redacting(value)) (from \(source))" }
}

extension KafkaConfiguration {
    package init(_ settings: ConnectionSettings) {
        self.init(
            bootstrapServers: settings.brokers.value,
            properties: settings.kafkaProperties.map { ($0.key, $0.value) })
    }
}

