package import SpeedoCore
package import SpeedoRuntime
import SpeedoStore

/// One `speedo history`: the readings (or buckets) of some sensors over a range, read from PostgreSQL in time slices
/// over parallel connections and rendered in one of the `HistoryFormat`s or as a chart.
package struct HistoryQuery: Sendable {
    package var databaseURL: String
    package var sensors: [String]
    package var since: Timestamp
    package var until: Timestamp
    /// Buckets of this width (average, min, max, count); nil: the readings themselves.
    package var width: TimeSpan?
    package var limit: Int?
    package var format: HistoryFormat
    /// A chart this many columns wide instead of the format.
    package var plotColumns: Int?
    /// Time slices read at once, each on its own connection.
    package var parallel: Int
    /// Buckets from exactly `since` out of the rows, never from the rollups (`--exact`).
    package var exact: Bool

    /// How many known ids to look through for suggestions (the loose index scan costs one probe per id).
    private static let suggestionPool = 10_000

    package init(
        databaseURL: String, sensors: [String], since: Timestamp, until: Timestamp, width: TimeSpan?, limit: Int?,
        format: HistoryFormat, plotColumns: Int?, parallel: Int, exact: Bool = false
    ) {
        self.databaseURL = databaseURL
        self.sensors = sensors
        self.since = since
        self.until = until
        self.width = width
        self.limit = limit
        self.format = format
        self.plotColumns = plotColumns
        self.parallel = parallel
        self.exact = exact
    }

    /// The range read: as given, or for buckets of whole minutes (hours) widened to whole minutes (hours), so that
    /// the buckets start on the minute (hour) and the rollups can answer them.
    package var range: (since: Timestamp, until: Timestamp) {
        guard !exact, let width, let grid = HistoryRollups.grid(for: width) else { return (since, until) }
        let start = since.microseconds - since.microseconds % grid
        let end = until.microseconds % grid == 0 ? until.microseconds : until.microseconds - until.microseconds % grid + grid
        return (Timestamp(microseconds: start), Timestamp(microseconds: end))
    }

    /// Reads the range, slices in parallel, and returns the output's pieces (in order) for standard output; what is
    /// not data (no readings, sensors without readings) goes to `notes`. Unknown sensors are an error, with
    /// suggestions.
    package func run(notes: Notes) async throws -> [[UInt8]] {
        let (start, end) = range
        // Sorted here, by their bytes, so that the order does not depend on the database's collation.
        let sensors = Set(self.sensors).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let plot = plotColumns != nil
        let renderer = HistoryRenderer(format: format)
        // A limit counts rows across the whole range: one slice. So does a table or a chart, drawn from every row.
        let renderedInSlices = limit == nil && !plot && format != .table
        let slices = HistorySlicing.slices(since: start, until: end, width: width, count: limit == nil ? parallel : 1)
        let read = HistorySliceRead(
            sensors: sensors, width: width, limit: limit, exact: exact, renderer: renderedInSlices ? renderer : nil)
        let parts = try await withThrowingTaskGroup(of: (Int, HistorySlice).self) { group in
            for (index, slice) in slices.enumerated() {
                // The connections wait for the same server: one of them says so.
                let connectionNotes = index == 0 ? notes : Notes { _ in }
                group.addTask {
                    (index, try await CommandDatabase.onConnection(databaseURL, thread: "speedo.history", notes: connectionNotes) {
                        try read.run(slice, on: $0)
                    })
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

        if let prunedBefore = parts.first?.rowsPrunedBefore, start < prunedBefore {
            let rollups = width.flatMap(HistoryRollups.grid) != nil && parts.allSatisfy(\.fromRollups)
            notes.note("speedo: the rows before \(prunedBefore.rfc3339) were pruned (db prune); "
                + (rollups ? "the buckets come from the rollups, which db prune keeps" : "what they held is not shown"))
        }
        // A limit that cut the output short says nothing about the sensors it left out.
        let quiet = count == limit ? [] : sensors.filter { !shown.contains($0) }
        if !quiet.isEmpty {
            let unknown = try await Self.unknownSensors(quiet, url: databaseURL, notes: notes)
            if !unknown.isEmpty {
                throw CommandFailure(.inputRejected, unknown.map(Self.unknownSensorMessage).joined(separator: "\n"))
            }
        }
        let span = "from \(start.rfc3339) to \(end.rfc3339)"
        guard count > 0 else {
            notes.note("speedo: no readings \(span)")
            return []
        }
        for sensor in quiet {
            notes.note("speedo: no readings of \(EscapedText.quoted(sensor)) \(span)")
        }
        return output
    }

    private func chart(
        _ since: Timestamp, _ until: Timestamp, _ points: [(String, Timestamp, Double)], _ sensors: [String]
    ) -> [UInt8] {
        HistoryPlot(width: plotColumns ?? 80, since: since, until: until).bytes(Self.series(sensors, points))
    }

    /// The slices' fragments by sensor, then by slice.
    private static func fragments(_ sensors: [String], _ parts: [HistorySlice]) -> [[UInt8]] {
        sensors.flatMap { sensor in parts.compactMap { $0.fragments[sensor] } }
    }

    /// Of sensors with no readings in the range, those with none at any time, with the closest known ids: probably
    /// mistyped. Rare, so on a connection of its own.
    private static func unknownSensors(_ quiet: [String], url: String, notes: Notes) async throws -> [(String, [String])] {
        try await CommandDatabase.onConnection(url, thread: "speedo.history", notes: notes) { connection in
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
    let sensors: [String]
    let width: TimeSpan?
    let limit: Int?
    let exact: Bool
    /// Set when each slice renders its own rows (`HistoryRenderer.fragment`).
    let renderer: HistoryRenderer?

    func run(_ slice: (since: Timestamp, until: Timestamp), on connection: PostgresConnection) throws -> HistorySlice {
        guard try connection.prepareForHistoryReads() > 0 else { return HistorySlice(hasSchema: false) }
        var part = HistorySlice(hasSchema: true)
        part.rowsPrunedBefore = try connection.rowsPrunedBefore()
        if let width {
            part.fromRollups = try !exact && connection.hasRollups()
            let buckets = try connection.buckets(
                of: sensors, since: slice.since, until: slice.until, width: width, limit: limit,
                fromRollups: part.fromRollups)
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
    /// Where the rows start since `db prune`.
    var rowsPrunedBefore: Timestamp?
    /// Whether buckets of whole minutes or hours were read from the rollups.
    var fromRollups = false
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

extension HistoryQuery {
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
