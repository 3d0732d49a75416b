import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTUI

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Show the sensors live in the terminal: speed, gauge and sparkline per sensor.",
        discussion: """
            A panel per sensor: its latest speed, a gauge coloured by speed band, a sparkline of the last \
            --window and how long ago it last reported (panels dim after --stale without a reading). The \
            status line shows the brokers, readings per second and the delivery lag (broker timestamp to screen). \
            When the broker goes away, a banner says so and the dashboard keeps retrying.

            Keys: q quits (so do Ctrl-C, with exit 130, and SIGTERM, with 0); ? shows the keys; the arrows (or h j k l) \
            move the selection, PgUp/PgDn/Home/End page through the sensors, Enter shows the selected sensor in \
            detail and Esc goes back; s sorts by id, speed or staleness; p pauses the picture (readings are still \
            recorded); / filters the sensors shown (a substring, or a glob with * and ?); + and - step the window \
            through 10s, 30s, 1m, 2m, 5m and 10m.

            Sources: --source latest (the default) reads the compacted topic speed-latest that \
            `speedo consume latest` keeps: one record per sensor, so the dashboard starts with every sensor at \
            once and stays light whatever the ingest rate (sparklines fill as states arrive). --source events reads the readings topic itself (-t, default \
            speed-events) from --window ago: every reading, nothing else needed, but more to read.

            On exit, a summary goes to stderr: readings shown, their rate and the delivery lag percentiles.
            Without a terminal, use --once: it reads up to now, prints one plain-text frame (no escape codes) \
            as wide as --columns, and exits; `speedo consume stdout` is the stream itself.

            Examples:
              speedo watch
                  the dev stack, from speed-latest (run `speedo consume latest` next to it)
              speedo watch --source events --window 5m --sensors 'sensor-1*,truck-?'
                  the raw readings of some sensors, five minutes of history
              speedo watch --once --columns 120 > snapshot.txt
                  one frame, for scripts
            """
    )

    @Option(parsing: .unconditional, help: ArgumentHelp("How much history the sparklines show, from 1s to 24h (e.g. 30s, 5m).", valueName: "duration"))
    var window = "60s"

    @Option(parsing: .unconditional, help: ArgumentHelp("A sensor silent this long is shown as stale.", valueName: "duration"))
    var stale = "5s"

    @Option(help: ArgumentHelp("Where readings come from: latest (speed-latest) or events (the readings topic)."))
    var source = WatchSource.latest

    @Option(help: ArgumentHelp(
        "Only sensors whose id matches: * any characters, ? one, commas between patterns.", valueName: "glob"))
    var sensors: String?

    @Flag(help: "Print one plain-text frame to stdout and exit; needs no terminal.")
    var once = false

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The width of the --once frame, 20 to 1000.", discussion: "Default: $COLUMNS, then 100.", valueName: "n"))
    var columns: Int?

    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    /// How long --once waits for the topic before printing what it has.
    private static let catchUpTimeout = Duration.seconds(15)

    func validate() throws {
        _ = try windowSpan()
        _ = try staleSpan()
        if let sensors, SensorGlob(sensors) == nil {
            throw ValidationError("--sensors needs at least one pattern, such as sensor-1* (got \"\(sensors)\")")
        }
        if let columns {
            guard once else { throw ValidationError("--columns applies to --once; the dashboard fills the terminal") }
            try OptionBounds.check(columns, "--columns", 20...1_000)
        }
    }

    private func windowSpan() throws -> TimeSpan {
        try OptionBounds.duration(window, "--window", .seconds(1)...TimeSpan.hours(24))
    }

    private func staleSpan() throws -> TimeSpan {
        try OptionBounds.duration(stale, "--stale", .milliseconds(100)...TimeSpan.hours(24))
    }

    func run() async throws {
        guard once || (isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1) else {
            throw CommandFailure(
                .usage,
                "speedo watch needs an interactive terminal; use `speedo watch --once` for one plain-text frame, "
                    + "or `speedo consume stdout` for the stream")
        }
        let resolved = try kafka.resolved()
        let window = try windowSpan()
        let settings = DashboardSettings(
            window: window, staleAfter: try staleSpan(),
            sensorFilter: sensors.flatMap(SensorGlob.init))
        let configuration = KafkaConfiguration(resolved)
        let brokers = resolved.brokers.value
        let topic = source == .latest ? ConnectionSettings.latestTopic : resolved.topic.value
        let connectTimeout = try kafka.startupWait()
        if once {
            let (source, columns) = (source, columns ?? Terminal.exportedColumns ?? 100)
            let frame = try await runOnDedicatedThread(name: "speedo.watch") {
                try WatchFeed.plainTextFrame(
                    settings: settings, configuration: configuration, brokers: brokers, topic: topic, source: source,
                    columns: columns, connectTimeout: connectTimeout, timeout: Self.catchUpTimeout, notes: .standardError)
            }
            FileHandle.standardOutput.write(Data(frame.utf8))
            return
        }
        let feed = WatchFeed(
            configuration: configuration, brokers: brokers, topic: topic, source: source, backfill: window,
            sensors: settings.sensorFilter, connectTimeout: connectTimeout)
        let interrupts = InterruptWatcher()
        let loop = DashboardLoop(
            settings: settings, initialStatus: FeedStatus(brokers: brokers, topic: topic), stop: interrupts.stop)
        let ending = try await runOnDedicatedThread(name: "speedo.watch") { try loop.run(feed: feed) }
        Terminal.note(feed.summary.line(topic: topic))
        if ending == .interrupted {
            try interrupts.endCleanStop("speedo watch: stopped on a signal")
        }
    }
}

extension WatchSource: ExpressibleByArgument {}
