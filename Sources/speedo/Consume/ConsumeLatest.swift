import ArgumentParser
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

struct ConsumeLatest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latest",
        abstract: "Keep each sensor's latest reading and rolling statistics in the compacted topic speed-latest.",
        discussion: """
            For every sensor, one record in speed-latest (key = sensor_id, Kafka timestamp = the reading's ts), \
            whose value is the newest reading followed by statistics over the last --window of event time \
            (the readings' ts, not the time they were read):

              {"sensor_id":"sensor-1","speed":42.5,"ts":1700000000.5,"window_s":60,"count":600,"min":0,"avg":38.2,"max":71.5}

            window_s: the window in whole seconds; count: readings in it; min, avg (the mean), max: their speeds \
            in km/h. The window covers the whole seconds (by ts) from window_s - 1 seconds before the newest \
            reading's second up to it; a reading older than that (out of order) is not counted, and a late \
            reading never replaces a newer one as the latest. speed-latest is created compacted \
            (cleanup.policy=compact) when missing, where the cluster can create topics.

            Rate limit: at most --max-rate records per second per sensor, whatever the input rate. Between two \
            records of a sensor only its newest state is kept, and it is published as soon as the sensor's \
            interval has passed (checked every 10 ms), so a sensor that goes quiet still gets its final state, \
            and readers such as `speedo watch` are isolated from the ingestion load.

            Offsets are committed to Kafka (group --group) only once the states covering the records were \
            acknowledged by the brokers, and the records that are not valid readings are in the dead-letter topic \
            (the readings topic plus .dlq, reason in the speedo-error header). Delivery is at least once: after a \
            crash, a state may be published again, which a compacted topic absorbs. The statistics live only in \
            memory: after a restart, the first --window of statistics covers only what was read since.

            --metrics-listen serves Prometheus' text format at GET /metrics (readings folded, states published, \
            dead letters, lag, partitions held, sensors known) and the probes: /livez while the process runs, \
            /readyz (or /healthz) 200 while it is connected and sends what it must, 503 with the reason otherwise.

            Examples:
              speedo consume latest
                  the dev stack, as group speedo-latest
              speedo consume latest --max-rate 2 --window 5m
              speedo consume latest --metrics-listen 127.0.0.1:9465
            """
    )

    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    @Option(help: ArgumentHelp("The consumer group; its offsets are committed to Kafka.", valueName: "id"))
    var group = "speedo-latest"

    @OptionGroup var metrics: MetricsListenOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("At most this many records per second per sensor, from 0.001 to 1000.", valueName: "n"))
    var maxRate = 10.0

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "The span of the rolling statistics, by event time, in whole seconds from 1s to 24h (e.g. 60s, 5m).", valueName: "duration"))
    var window = "60s"

    @Flag(help: """
        Stop (exit 0) once every assigned partition has been read to its end and every state was published and \
        acknowledged; for tests and backfills. Run it alone in its group.
        """)
    var exitAtEnd = false

    func validate() throws {
        guard !group.isEmpty else { throw ValidationError("--group must not be empty") }
        try OptionBounds.check(maxRate, "--max-rate", 0.001...1_000)
        _ = try windowSeconds()
    }

    private func windowSeconds() throws -> Int {
        let span = try OptionBounds.duration(window, "--window", .seconds(1)...TimeSpan.hours(24))
        guard span.microseconds % 1_000_000 == 0 else {
            throw ValidationError("--window must be whole seconds (got \(window))")
        }
        return Int(span.microseconds / 1_000_000)
    }

    func run() async throws {
        let resolved = try kafka.resolved()
        let (consumer, interrupts) = try kafka.consuming(
            KafkaConfiguration(resolved).preferringLowLatencyReads(), topic: resolved.topic.value, exitAtEnd: exitAtEnd,
            consequence: "states not acknowledged yet are published again by the next run (their offsets were not "
                + "committed)")
        let settings = LatestPumpSettings(
            consumer: consumer, group: group, windowSeconds: try windowSeconds(), emissionInterval: .seconds(1 / maxRate),
            metrics: metrics.metricsListen.map { _ in
                LatestMetrics(brokers: resolved.brokers.value, topic: resolved.topic.value, heartbeat: consumer.heartbeat)
            })
        let outcome = try await metrics.serving(settings.metrics) {
            try await runOnDedicatedThread(name: "speedo.consume") {
                var pump = try LatestPump(settings: settings)
                return try pump.run()
            }
        }
        if outcome == .stopped {
            try interrupts.endCleanStop("speedo consume latest: stopped on a signal; the pending states were published first")
        }
    }
}
