import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoStore

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        // Named here rather than derived from the type name, which costs the parser a reflection of the type.
        commandName: "history",
        abstract: "Show the stored readings of sensors over a time range, raw or time-bucketed.",
        discussion: """
            Reads speed_readings in PostgreSQL (written by `speedo consume postgres`): the readings of each SENSOR \
            in [--since, --until), sensor by sensor (by id), each in time order, or with --bucket the \
            count, minimum, average, maximum and 95th percentile of each sensor per bucket (buckets start at \
            --since; empty buckets are left out). The range is read as --parallel time slices over as many \
            connections at once, since PostgreSQL runs each query on one core.

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

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Aggregate per bucket of this length (e.g. 1m, 1h), from 1ms to 36500d.", valueName: "duration"))
    var bucket: String?

    @Option(help: "Output format.")
    var format = HistoryFormat.table

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Print at most this many rows (readings or buckets), 1 or more.", valueName: "rows"))
    var limit: Int?

    @Flag(help: "Draw a chart (km/h over time) per sensor instead of printing rows; --bucket plots the averages.")
    var plot = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Read the range as this many time slices over as many connections at once, 1 to 16 (PostgreSQL runs each query on one core).",
            valueName: "connections"))
    var parallel = 2

    @OptionGroup(title: "PostgreSQL")
    var database: DatabaseOptions

    /// How many known ids to look through for suggestions (the loose index scan costs one probe per id).
    private static let suggestionPool = 10_000

    func validate() throws {
        guard !sensors.isEmpty else { throw ValidationError("name at least one sensor") }
        _ = try range.resolve(now: Timestamp.current())
        _ = try bucketWidth()
        if let limit { try OptionBounds.check(limit, "--limit", 1...) }
        try OptionBounds.check(parallel, "--parallel", 1...16)
    }

    private func bucketWidth() throws -> TimeSpan? {
        try bucket.map { try OptionBounds.duration($0, "--bucket", .milliseconds(1)...TimeSpan.days(36_500)) }
    }

    func run() async throws {
        let settings = try ConnectionSettings.resolve(kafka: nil, database: database)
        let (start, end) = try range.resolve(now: Timestamp.current())
        let width = try bucketWidth()
        // Sorted here, by their bytes, so that the order does not depend on the database's collation.
        let sensors = Set(self.sensors).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let renderer = HistoryRenderer(format: format)
        // A limit counts rows across the whole range: one slice. So does a table or a chart, drawn from every row.
        let renderedInSlices = limit == nil && !plot && format != .table
        let slices = HistorySlicing.slices(since: start, until: end, width: width, count: limit == nil ? parallel : 1)
        let read = HistorySliceRead(
            url: settings.databaseURL.value, sensors: sensors, width: width, limit: limit,
            renderer: renderedInSlices ? renderer : nil)
        let parts = try await withThrowingTaskGroup(of: (Int, HistorySlice).self) { group in
            for (index, slice) in slices.enumerated() {
                group.addTask {
                    (index, try await runOnDedicatedThread(name: "speedo.history") { try read.run(slice) })
                }
            }
            var parts: [HistorySlice?] = Array(repeating: nil, count: slices.count)
            for try await (index, part) in group { parts[index] = part }
            return parts.map { $0! }
        }
        guard parts.allSatisfy(\HistorySlice.hasSchema) else {
            throw CommandFailure(.inputRejected, sensors.map(Self.unknownSensorMessage).joined(separator: "\n"))
        }

        // Each slice holds its rows by sensor; the output is by sensor, then by time. A limit was applied by the
        // query of the one slice.
        let count = parts.reduce(0) { $0 + $1.count }
        let shown = Set(parts.flatMap(\.sensorsFound))
        let output: [[UInt8]]
        if renderedInSlices {
            output = renderer.document(Self.fragments(sensors, parts), of: width == nil ? .readings : .buckets)
        } else if width != nil {
            let buckets = sensors.flatMap { sensor in parts.flatMap { $0.buckets[sensor] ?? [] } }
            output = plot ? [chart(start, end, buckets.map { ($0.sensorID, $0.start, $0.average) }, sensors)] : renderer.render(buckets[...])
        } else {
            let readings = sensors.flatMap { sensor in parts.flatMap { $0.readings[sensor] ?? [] } }
            output = plot ? [chart(start, end, readings.map { ($0.sensorID, $0.timestamp, $0.speed) }, sensors)] : renderer.render(readings[...])
        }

        // A limit that cut the output short says nothing about the sensors it left out.
        let quiet = count == limit ? [] : sensors.filter { !shown.contains($0) }
        if !quiet.isEmpty {
            let unknown = try await Self.unknownSensors(quiet, url: settings.databaseURL.value)
            if !unknown.isEmpty {
                throw CommandFailure(.inputRejected, unknown.map(Self.unknownSensorMessage).joined(separator: "\n"))
            }
        }
        let span = "from \(start.rfc3339) to \(end.rfc3339)"
        guard count > 0 else {
            Terminal.note("speedo: no readings \(span)")
            return
        }
        for sensor in quiet {
            Terminal.note("speedo: no readings of \(EscapedText.quoted(sensor)) \(span)")
        }
        _ = try StandardOutput.write(output)
    }

    private func chart(
        _ since: Timestamp, _ until: Timestamp, _ points: [(String, Timestamp, Double)], _ sensors: [String]
    ) -> [UInt8] {
        HistoryPlot(width: Terminal.exportedColumns ?? 80, since: since, until: until).bytes(Self.series(sensors, points))
    }

    /// The slices' fragments by sensor, then by slice.
    private static func fragments(_ sensors: [String], _ parts: [HistorySlice]) -> [[UInt8]] {
        sensors.flatMap { sensor in parts.compactMap { $0.fragments[sensor] } }
    }

    /// Of sensors with no readings in the range, those with none at any time, with the closest known ids: probably
    /// mistyped. Rare, so on a connection of its own.
    private static func unknownSensors(_ quiet: [String], url: String) async throws -> [(String, [String])] {
        try await runOnDedicatedThread(name: "speedo.history") {
            let connection = try HistorySliceRead.connect(url)
            defer { connection.close() }
            let known = try connection.sensorsWithReadings(quiet)
            let unknown = quiet.filter { !known.contains($0) }
            let pool = unknown.isEmpty ? [] : try connection.knownSensors(limit: suggestionPool)
            return unknown.map { ($0, Suggestions.closest(to: $0, among: pool)) }
        }
    }

    private static func unknownSensorMessage(_ sensor: String, suggestions: [String]) -> String {
        let hint = suggestions.isEmpty
            ? "" : "; did you mean \(suggestions.map { EscapedText.escape($0) }.joined(separator: ", "))?"
        return "no readings of sensor \(EscapedText.quoted(sensor)) at all in PostgreSQL\(hint)"
    }

    private static func unknownSensorMessage(_ sensor: String) -> String {
        unknownSensorMessage(sensor, suggestions: [])
    }
}

/// One time slice of `history`, read on its own connection and thread.
private struct HistorySliceRead: Sendable {
    let url: String
    let sensors: [String]
    let width: TimeSpan?
    let limit: Int?
    /// Set when each slice renders its own rows (`HistoryRenderer.fragment`).
    let renderer: HistoryRenderer?

    /// A server that is still starting is waited for, briefly: `history` is interactive.
    static func connect(_ url: String) throws(PostgresError) -> PostgresConnection {
        try PostgresConnection.connect(
            url, retry: .command
        ) { Terminal.note("speedo: \($0)") }
    }

    func run(_ slice: (since: Timestamp, until: Timestamp)) throws -> HistorySlice {
        let connection = try Self.connect(url)
        defer { connection.close() }
        guard try connection.prepareForHistoryReads() > 0 else { return HistorySlice(hasSchema: false) }
        var part = HistorySlice(hasSchema: true)
        if let width {
            let buckets = try connection.buckets(of: sensors, since: slice.since, until: slice.until, width: width, limit: limit)
            part.count = buckets.count
            let bySensor = buckets.runs(by: \.sensorID)
            if let renderer { part.fragments = bySensor.mapValues(renderer.fragment) } else { part.buckets = bySensor }
        } else {
            let readings = try connection.readings(of: sensors, since: slice.since, until: slice.until, limit: limit)
            part.count = readings.count
            let bySensor = readings.runs(by: \.sensorID)
            if let renderer { part.fragments = bySensor.mapValues(renderer.fragment) } else { part.readings = bySensor }
        }
        return part
    }
}

/// What one slice found, carried off its database thread.
private struct HistorySlice: Sendable {
    /// False when speedo's tables are not there: nothing was ever written.
    var hasSchema: Bool
    var count = 0
    /// By sensor, unless the slice rendered them (`fragments`).
    var readings: [String: ArraySlice<Reading>] = [:]
    var buckets: [String: ArraySlice<SpeedBucket>] = [:]
    var fragments: [String: [UInt8]] = [:]

    /// The sensors with rows in this slice.
    var sensorsFound: [String] { Array(readings.keys) + buckets.keys + fragments.keys }
}

extension Array {
    /// The runs of adjacent elements with the same key, by key, as slices of this array rather than copies: the
    /// queries return their rows sensor by sensor.
    fileprivate func runs(by key: (Element) -> String) -> [String: ArraySlice<Element>] {
        var runs: [String: ArraySlice<Element>] = [:]
        var start = startIndex
        while start < endIndex {
            let runKey = key(self[start])
            let end = self[start...].firstIndex { key($0) != runKey } ?? endIndex
            runs[runKey] = self[start..<end]
            start = end
        }
        return runs
    }
}

extension History {
    /// Points grouped by sensor, in the order of `sensors`.
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
