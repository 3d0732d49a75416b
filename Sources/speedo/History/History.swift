import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        // Named here rather than derived from the type name, which costs the parser a reflection of the type.
        commandName: "history",
        abstract: "Show the stored readings of sensors over a time range, raw or time-bucketed.",
        discussion: """
            Reads speed_readings in PostgreSQL (written by `speedo consume postgres`): the readings of each SENSOR \
            in [--since, --until), sensor by sensor (by id), each in time order, or with --bucket the \
            count, minimum, average, maximum and 95th percentile of each sensor per bucket (buckets start at \
            --since, or on the minute or hour: see below; empty buckets are left out). The range is read as --parallel time slices over as many \
            connections at once, since PostgreSQL runs each query on one core.

            Times: a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time (2024-05-01T12:00:00Z), \
            @EPOCH seconds, @EPOCHms milliseconds (a Kafka timestamp), or now. Formats: table (for people: km/h, UTC times), csv (with a header; raw readings \
            in ingest's sensor_id,speed,ts order, so they can be ingested again), ndjson (canonical readings, one a \
            line) and json (one array); --plot draws a braille chart per sensor (the first 4) as wide as $COLUMNS \
            (else 80). Data goes to stdout; "no readings" notes go to stderr.

            A SENSOR with no reading at all (at any time) is probably mistyped: speedo names the closest known ids \
            and exits with 65, printing nothing. A sensor known but quiet in the range is only noted on stderr.

            Buckets of whole minutes (or hours) start on the minute (hour), UTC: --since is rounded down and --until \
            up to it. Where PostgreSQL has the tdigest extension, such buckets are summed from per-sensor rollups of a \
            minute and an hour, kept by `consume postgres` with the rows, in the same transaction, and kept by `db \
            prune`: a year of hours answers without reading a row, also after the rows were pruned. Count, minimum, \
            average and maximum are exact; the 95th percentile is the t-digest's estimate (README.md gives its \
            measured error). --exact reads the raw rows from exactly --since, with an exact percentile.

            Examples:
              speedo history sensor-1 --since 1h
              speedo history sensor-1 sensor-2 --since 2024-05-01T00:00:00Z --until 2024-05-02T00:00:00Z --bucket 1h
              speedo history sensor-1 --since 7d --bucket 1d --format csv > daily.csv
              speedo history sensor-1 --since 365d --bucket 1h --format csv    (from the rollups)
            """
    )

    @Argument(help: ArgumentHelp("The sensor ids to show.", valueName: "sensor"))
    var sensors: [String]

    @OptionGroup(title: "Time range") var range: TimeRangeOptions

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

    @Flag(help: "With --bucket: buckets from exactly --since, out of the raw rows (an exact 95th percentile), not the rollups.")
    var exact = false

    @OptionGroup(title: "PostgreSQL") var database: DatabaseOptions

    func validate() throws {
        if exact && bucket == nil { throw ValidationError("--exact goes with --bucket") }
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
        let (since, until) = try range.resolve(now: Timestamp.current())
        let query = HistoryQuery(
            databaseURL: try database.resolvedURL(),
            sensors: sensors, since: since, until: until, width: try bucketWidth(), limit: limit, format: format,
            plotColumns: plot ? Terminal.exportedColumns ?? 80 : nil, parallel: parallel,
            exact: exact)
        _ = try StandardOutput.write(try await query.run(notes: .standardError))
    }
}

extension HistoryFormat: ExpressibleByArgument {}
