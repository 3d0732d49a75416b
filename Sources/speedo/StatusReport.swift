import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoStore
import SpeedoTUI

/// What `speedo status` learns from Kafka. Gathering never throws: an unreachable cluster is part of the report.
struct KafkaStatusReport {
    var brokers: ResolvedSetting
    var metadata: ClusterMetadata?
    var watermarks: [String: [Int32: Watermarks]] = [:]
    var failure: String?

    static func gather(settings: ConnectionSettings, timeout: Duration) -> KafkaStatusReport {
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
        } catch {
            report.failure = error.description
        }
        return report
    }

    /// Lag is measured against the offsets `consume postgres` stores in PostgreSQL with the rows.
    func render(lagFrom offsets: [StoreStatusReport.ConsumerOffset]) -> [String] {
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
            .init("HIGH", .right), .init("LAG", .right),
        ])
        for offset in offsets {
            let high = watermarks[offset.topic]?[offset.partition]?.high
            lagTable.append([
                EscapedText.escape(offset.group), EscapedText.escape(offset.topic), "\(offset.partition)",
                grouped(offset.nextOffset), high.map(grouped) ?? "?", high.map { grouped(max(0, $0 - offset.nextOffset)) } ?? "?",
            ])
        }
        if !lagTable.rows.isEmpty {
            lines += ["", "Consumer groups (offsets stored in PostgreSQL with the rows):"] + lagTable.render()
        }
        return lines
    }
}

/// What `speedo status` learns from PostgreSQL.
struct StoreStatusReport {
    struct ConsumerOffset {
        var group: String
        var topic: String
        var partition: Int32
        var nextOffset: Int64
    }

    struct SensorSummary {
        var sensorID: String
        var readings: Int64
        var first: Timestamp
        var last: Timestamp
    }

    var databaseURL: ResolvedSetting
    var server: String?
    var schemaVersion = 0
    var readings: Int64 = 0
    var partitions = 0
    var sensorCount = 0
    var topSensors: [SensorSummary] = []
    var consumerOffsets: [ConsumerOffset] = []
    var failure: String?

    static func gather(settings: ConnectionSettings, timeout: Duration, top: Int) -> StoreStatusReport {
        var report = StoreStatusReport(databaseURL: settings.databaseURL)
        do {
            let retry = Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: timeout)
            let connection = try PostgresConnection.connect(settings.databaseURL.value, retry: retry) { notice in
                Terminal.note("speedo: \(notice)")
            }
            defer { connection.close() }
            report.server = "PostgreSQL \(versionText(connection.serverVersion)) at \(connection.server)"
            report.schemaVersion = try SchemaMigrations.currentVersion(on: connection)
            guard report.schemaVersion > 0 else { return report }
            try report.readContents(of: connection, top: top)
        } catch {
            report.failure = "\(error)"
        }
        return report
    }

    private mutating func readContents(of connection: PostgresConnection, top: Int) throws {
        let totals = try connection.query("""
            select count(*) as readings, count(distinct sensor_id) as sensors,
                   (select count(*) from pg_inherits where inhparent = 'speed_readings'::regclass) as partitions
            from speed_readings
            """)
        readings = Int64(try totals.first?.int("readings") ?? 0)
        sensorCount = try totals.first?.int("sensors") ?? 0
        partitions = try totals.first?.int("partitions") ?? 0

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

        consumerOffsets = try connection.query("""
            select group_id, topic, partition, next_offset from speedo_consumer_offsets order by 1, 2, 3
            """).map { row in
            ConsumerOffset(
                group: row["group_id"] ?? "", topic: row["topic"] ?? "",
                partition: Int32(try row.int("partition") ?? 0), nextOffset: Int64(try row.int("next_offset") ?? 0))
        }
    }

    func render() -> [String] {
        guard let server else {
            return ["PostgreSQL  \(databaseURL.redacted)", "            unreachable: \(failure ?? "unknown error")"]
        }
        var lines = ["PostgreSQL  \(databaseURL.redacted): \(server)"]
        guard schemaVersion > 0 else {
            return lines + ["            no speedo schema yet (`speedo dev up` or `speedo consume postgres` creates it)"]
        }
        lines.append(
            "            schema v\(schemaVersion), \(count(readings, "reading")) from \(count(sensorCount, "sensor")) "
                + "in \(count(partitions, "daily partition"))")
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
    var redacted: String { "\(ConnectionString.redacting(value)) (from \(source))" }
}

extension KafkaConfiguration {
    init(_ settings: ConnectionSettings) {
        self.init(
            bootstrapServers: settings.brokers.value,
            properties: settings.kafkaProperties.map { ($0.key, $0.value) })
    }
}

/// 1234567 → "1,234,567": counts people read at a glance.
func grouped(_ number: some BinaryInteger) -> String {
    let digits = String(number.magnitude)
    var result = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
        result.append(digit)
    }
    return number < 0 ? "-" + result : result
}

/// "1 broker", "3 brokers".
func count(_ number: some BinaryInteger, _ noun: String) -> String {
    "\(grouped(number)) \(noun)\(number == 1 ? "" : "s")"
}
