import ArgumentParser
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime

struct ConsumePostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "postgres",
        abstract: "Write the readings topic to PostgreSQL (speed_readings), exactly once.",
        discussion: """
            Exactly once means: every record of the topic ends up as exactly one row of speed_readings, or, when it \
            is not a valid reading, as one record in the dead-letter topic (the topic's name plus .dlq, with the \
            reason in the speedo-error header) — whatever happens: kill -9 at any moment, a PostgreSQL restart, a \
            rebalance, a replay. How: the rows of a batch and the offset each partition resumes from are committed \
            in ONE PostgreSQL transaction (table speedo_consumer_offsets, per group, topic and partition), and on \
            every assignment the consumer starts exactly at the stored offset, never at one kept by Kafka. Rows go \
            through INSERT … ON CONFLICT (sensor_id, ts) DO NOTHING, so a replay stores nothing twice. A group \
            with no stored offsets starts from the earliest record the brokers still hold. (Dead letters are \
            confirmed by the brokers before their offsets are stored; after a crash between the two, a dead letter \
            may be sent twice, never lost.)

            Scaling out: run several `speedo consume postgres` processes with the same --group, on any machines; \
            Kafka splits the topic's partitions among them and moves a partition to another member when one stops \
            or dies (after its session.timeout.ms, e.g. -X session.timeout.ms=10000). More members than partitions \
            leaves some idle.

            PostgreSQL down while running: the batch is retried (with growing pauses, said on stderr) until it is \
            stored; nothing is skipped. Brokers down: librdkafka reconnects on its own. Progress (rows/s, totals, \
            lag per partition) goes to stderr every --log-interval. SIGINT or SIGTERM stores the batch in hand, \
            leaves the group and exits with 0 (SIGTERM) or 130 (SIGINT); a second signal exits at once (nothing \
            is lost: the next run \
            resumes from the stored offsets). --metrics-listen serves the same in Prometheus' text format at GET \
            /metrics (rows stored: new, already there or conflicting; dead letters; gaps and the records they miss; \
            batches; retries; records not stored yet, summed over this member's partitions; partitions assigned; \
            when a batch was last stored), GET /readyz (or /healthz) answers 200 while the writer stores, 503 with \
            the reason while it starts or cannot reach PostgreSQL, and GET /livez 200 whenever the process answers.

            A record whose key is not its sensor_id is invalid too (records without a key are accepted).

            Nothing is left out silently. A reading whose sensor and time already have another speed stored is a \
            conflict: the history keeps the first, the other goes to the dead-letter topic (code conflict) and to \
            the table speedo_history_conflicts (the same reading again is simply "already there"). Records the \
            brokers removed before they were stored (retention, or the dev broker's size limit, overtaking a writer \
            that was stopped or behind) are a gap: with --on-gap record (the default) it is printed as an error, \
            stored in speedo_history_gaps with the same transaction that moves past it, counted in the metrics and \
            shown by `speedo status` (`status --check` turns critical until `speedo db gaps --acknowledge`); with \
            --on-gap stop the writer stores what came before and exits with 65 instead. A stored offset beyond a \
            partition's end means the topic was deleted and created again (or truncated): the writer exits with 65 \
            and says so, and `speedo db reset-offsets` is how an operator lets it start over.

            Examples:
              speedo consume postgres
                  the dev stack, as group speedo-history
              speedo consume postgres --exit-at-end
                  a backfill: stop (exit 0) once caught up
              speedo consume postgres --metrics-listen 127.0.0.1:9464
                  with metrics for Prometheus at http://127.0.0.1:9464/metrics
              speedo consume postgres -b kafka1:9092 -d postgresql://speedo@db/speedo --group history-eu
                  a real cluster; start the same command on other machines to share the partitions
            """
    )

    @OptionGroup var connection: KafkaAndDatabaseOptions

    @Option(help: ArgumentHelp(
        "The consumer group; its offsets are kept in PostgreSQL (speedo_consumer_offsets).", valueName: "id"))
    var group = ConsumeSettings.historyGroup

    @Option(parsing: .unconditional, help: ArgumentHelp("Store a batch once it holds this many records (1 to 1000000)…", valueName: "records"))
    var batchSize = 20_000

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "…or once its first record has waited this long, whichever comes first (e.g. 200ms, 1s; at most 1h).",
        valueName: "duration"))
    var batchInterval = "200ms"

    @Option(parsing: .unconditional, help: ArgumentHelp("How often to report throughput and lag on stderr.", valueName: "duration"))
    var logInterval = "10s"

    @Flag(help: """
        Stop (exit 0) once every assigned partition has been read to its end and stored; for backfills and tests. \
        Only the partitions assigned to this member count: run it alone in its group (a member that died less than \
        its session timeout ago still holds its share).
        """)
    var exitAtEnd = false

    @OptionGroup var metrics: MetricsListenOptions

    @Option(help: ArgumentHelp(
        "When records were removed from the topic before they were stored: record the gap and go on, or stop (exit 65).",
        valueName: "record|stop"))
    var onGap: GapPolicy = .record

    func validate() throws {
        try OptionBounds.check(batchSize, "--batch-size", 1...1_000_000)
        _ = try batchWait()
        _ = try logEvery()
        guard !group.isEmpty else { throw ValidationError("--group must not be empty") }
    }

    private func batchWait() throws -> Duration {
        try OptionBounds.duration(batchInterval, "--batch-interval", .milliseconds(1)...TimeSpan.hours(1)).duration
    }

    private func logEvery() throws -> Duration {
        try OptionBounds.duration(logInterval, "--log-interval", .milliseconds(100)...TimeSpan.hours(24)).duration
    }

    func run() async throws {
        let resolved = try connection.resolved()
        let (consumer, interrupts) = try connection.kafka.consuming(
            KafkaConfiguration(resolved).preferringBulkReads(), topic: resolved.topic.value, exitAtEnd: exitAtEnd,
            consequence: "nothing is lost: the next run resumes from the offsets stored in PostgreSQL with the rows")
        let settings = HistoryPumpSettings(
            consumer: consumer,
            group: group,
            databaseURL: resolved.databaseURL.value,
            batchSize: batchSize,
            batchInterval: try batchWait(),
            logInterval: try logEvery(),
            metrics: metrics.metricsListen.map { _ in
                HistoryMetrics(brokers: resolved.brokers.value, topic: resolved.topic.value, heartbeat: consumer.heartbeat)
            },
            onGap: onGap)
        let pump: @Sendable () async throws -> HistoryPumpOutcome = {
            try await runOnDedicatedThread(name: "speedo.consume") {
                var pump = try HistoryPump(settings: settings)
                return try pump.run()
            }
        }
        let outcome = try await metrics.serving(settings.metrics, while: pump)
        switch outcome {
        case .reachedEnd:
            return
        case .stopped(let unstored):
            let detail = unstored == 0
                ? "everything read was stored"
                : "\(unstored) records read but not stored (PostgreSQL unreachable) will be read again by the next run"
            try interrupts.endCleanStop("speedo consume postgres: stopped on a signal; \(detail)")
        }
    }
}

extension GapPolicy: ExpressibleByArgument {}
