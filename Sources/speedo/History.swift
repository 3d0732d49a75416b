import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoStore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the stored readings of sensors over a time range, raw or time-bucketed.",
        discussion: """
            Reads speed_readings in PostgreSQL (written by `speedo consume postgres`): the readings of each SENSOR \
            in [--since, --until), by sensor then time, or with --bucket the count, minimum, average, maximum and \
            95th percentile of each sensor per bucket (buckets start at --since; empty buckets are left out).

            Times: a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time (2024-05-01T12:00:00Z), \
            @EPOCH seconds, or now. Formats: table (for people: km/h, UTC times), csv (with a header; raw readings \
            in ingest's sensor_id,speed,ts order, so they can be ingested again), ndjson (canonical readings, one a \
            line) and json (one array); --plot draws a braille chart per sensor (the first 4) as wide as $COLUMNS \
            (else 80). Data goes to stdout; "no readings" notes go to stderr.

            A SENSOR with no reading at all (at any time) is probably mistyped: speedo names the closest known ids \
            and exits with 65, printing nothing. A sensor known but quiet in the range is only noted on stderr.

            Examples:
              speedo history sensor-1 --since 1h
              speedo history sensor-1 sensor-2 --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z --bucket 1h
              speedo history sensor-1 --since 7d --bucket 1d --format csv > daily.csv
            """
    )

    @Argument(help: ArgumentHelp("The sensor ids to show.", valueName: "sensor"))
    var sensors: [String]

    @OptionGroup(title: "Time range")
    var range: TimeRangeOptions

    @Option(help: ArgumentHelp("Aggregate per bucket of this length (e.g. 1m, 1h).", valueName: "duration"))
    var bucket: String?

    @Option(help: "Output format.")
    var format = HistoryFormat.table

    @Option(help: ArgumentHelp("Print at most this many rows (readings or buckets).", valueName: "rows"))
    var limit: Int?

    @Flag(help: "Draw a chart (km/h over time) per sensor instead of printing rows; --bucket plots the averages.")
    var plot = false

    @OptionGroup(title: "PostgreSQL")
    var database: DatabaseOptions

    /// How many known ids to look through for suggestions (the loose index scan costs one probe per id).
    private static let suggestionPool = 10_000

    func validate() throws {
        guard !sensors.isEmpty else { throw ValidationError("name at least one sensor") }
        _ = try range.resolve(now: Timestamp.current())
        if let width = try bucketWidth(), width <= TimeSpan(microseconds: 0) {
            throw ValidationError("--bucket must be more than 0 (got \(width))")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
    }

    private func bucketWidth() throws -> TimeSpan? {
        guard let bucket else { return nil }
        do { return try TimeSpan.parse(bucket) } catch { throw ValidationError("--bucket: \(error)") }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(kafka: nil, database: database)
        let (start, end) = try range.resolve(now: Timestamp.current())
        let width = try bucketWidth()
        var seen = Set<String>()
        let sensors = self.sensors.filter { seen.insert($0).inserted }
        let renderer = HistoryRenderer(format: format)
        let chart = plot ? HistoryPlot(width: Terminal.exportedColumns ?? 80, since: start, until: end) : nil
        let limit = self.limit
        let url = settings.databaseURL.value
        let found = try await runOnDedicatedThread(name: "speedo.history") { () throws -> HistoryFindings in
            let connection = try PostgresConnection.connect(
                url, retry: Backoff(maximumDelay: .seconds(2), maximumAttempts: nil, deadline: .seconds(10))
            ) { Terminal.note("speedo: \($0)") }
            defer { connection.close() }
            guard try SchemaMigrations.currentVersion(on: connection) > 0 else {
                return HistoryFindings(output: [], shown: [], count: 0, unknown: sensors.map { ($0, []) })
            }
            try connection.prepareForHistoryReads()
            let output: [UInt8], shown: Set<String>, count: Int
            if let width {
                let buckets = try connection.buckets(of: sensors, since: start, until: end, width: width, limit: limit)
                let rendered = chart.map { $0.bytes(Self.series(sensors, buckets.map { ($0.sensorID, $0.start, $0.average) })) }
                (output, shown, count) = (rendered ?? renderer.render(buckets), Set(buckets.map(\.sensorID)), buckets.count)
            } else {
                let readings = try connection.readings(of: sensors, since: start, until: end, limit: limit)
                let rendered = chart.map { $0.bytes(Self.series(sensors, readings.map { ($0.sensorID, $0.timestamp, $0.speed) })) }
                (output, shown, count) = (rendered ?? renderer.render(readings), Set(readings.map(\.sensorID)), readings.count)
            }
            // A limit that cut the output short says nothing about the sensors it left out.
            let quiet = count == limit ? [] : sensors.filter { !shown.contains($0) }
            guard !quiet.isEmpty else {
                return HistoryFindings(output: output, shown: shown, count: count, unknown: [])
            }
            let known = try connection.sensorsWithReadings(quiet)
            let unknown = quiet.filter { !known.contains($0) }
            let pool = unknown.isEmpty ? [] : try connection.knownSensors(limit: Self.suggestionPool)
            return HistoryFindings(
                output: output, shown: shown, count: count,
                unknown: unknown.map { ($0, Suggestions.closest(to: $0, among: pool)) })
        }
        if !found.unknown.isEmpty {
            throw CommandFailure(.inputRejected, found.unknown.map { sensor, suggestions in
                let hint = suggestions.isEmpty
                    ? "" : "; did you mean \(suggestions.map { EscapedText.escape($0) }.joined(separator: ", "))?"
                return "no readings of sensor \(EscapedText.quoted(sensor)) at all in PostgreSQL\(hint)"
            }.joined(separator: "\n"))
        }
        let span = "from \(start.rfc3339) to \(end.rfc3339)"
        guard found.count > 0 else {
            Terminal.note("speedo: no readings \(span)")
            return
        }
        for sensor in sensors where !found.shown.contains(sensor) && found.count != limit {
            Terminal.note("speedo: no readings of \(EscapedText.quoted(sensor)) \(span)")
        }
        FileHandle.standardOutput.write(Data(found.output))
    }
}

extension History {
    /// Points grouped by sensor, in the order the sensors were named.
    static func series(
        _ sensors: [String], _ points: [(String, Timestamp, Double)]
    ) -> [(sensor: String, points: [(Timestamp, Double)])] {
        let grouped = Dictionary(grouping: points, by: \.0)
        return sensors.compactMap { sensor in grouped[sensor].map { (sensor, $0.map { ($0.1, $0.2) }) } }
    }
}

extension HistoryPlot {
    func bytes(_ series: [(sensor: String, points: [(Timestamp, Double)])]) -> [UInt8] {
        Array(render(series).map { $0 + "\n" }.joined().utf8)
    }
}

/// What `history` found, carried off its database thread.
private struct HistoryFindings: Sendable {
    var output: [UInt8]
    var shown: Set<String>
    var count: Int
    /// Sensors without any reading, each with the closest known ids.
    var unknown: [(String, [String])]
}
