import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Validate NDJSON or CSV readings from files, stdin or HTTP and publish them to Kafka.",
        discussion: """
            Reads each FILE in order, or standard input when there is none or FILE is -. Each input is \
            NDJSON ({"sensor_id":"sensor-1","speed":42,"ts":1700000000} per line) or CSV \
            (sensor_id,speed[,ts] per line, optional header), detected from its first line unless --format \
            says. A missing ts is the time of ingestion.

            Every line is validated; a rejected line is reported on stderr as FILE:LINE: <reason> \
            (standard input is named <stdin>) and the valid lines around it are still published. Readings \
            go to the topic (created with --partitions when missing) with key = sensor_id through an \
            idempotent producer with acks=all; a reading counts as published only once the broker \
            acknowledged it. When the producer queue is full, reading waits: nothing is dropped.

            A summary goes to stderr at the end (and a live progress line while a large input is read on a \
            terminal). On SIGINT or SIGTERM reading stops, what is in flight is flushed (for at most 10 s), \
            the summary is printed and the exit code is 0 after SIGTERM (a clean stop), 130 after SIGINT; a \
            second signal exits at once.

            Exit codes: 0 every line published; 65 some lines rejected (the valid ones were published); \
            69 no broker reachable within --connect-timeout; 75 some readings not confirmed by the broker \
            (the message says how many are in doubt: sent but not acknowledged, so possibly on the topic); \
            130 interrupted by SIGINT.

            Give every reading its ts, so that publishing it again is harmless: a reading resent with the \
            same ts and speed is stored once by `consume postgres`, while one without ts gets a new ingestion \
            time and would be stored twice.

            With --listen, serves the HTTP ingestion API instead (see --listen); SIGINT or SIGTERM stop \
            accepting connections, the requests in flight get their answers, the producer is flushed, and the \
            exit code is 0 (SIGTERM) or 130 (SIGINT); 75 when a record could not be confirmed.

            Examples:
              speedo ingest readings.ndjson
              speedo simulate --stdout | speedo ingest
              speedo ingest --reject-file rejected.csv day1.csv day2.csv
              speedo ingest -b kafka1:9092 -X security.protocol=SSL readings.ndjson
              speedo ingest --listen 0.0.0.0:8080 --token-file /etc/speedo/token
            """
    )

    @Argument(help: ArgumentHelp("Input files; - or none reads standard input.", valueName: "file"))
    var files: [String] = []

    @OptionGroup(title: "Kafka") var kafka: KafkaClientOptions

    @Option(help: ArgumentHelp("Input format for every input instead of detecting it.", valueName: "ndjson|csv"))
    var format: InputFormat?

    @Option(help: ArgumentHelp(
        "Write every rejected line as read (without its line ending) to this file, to fix and ingest again.",
        valueName: "path"))
    var rejectFile: String?

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Stop reading after this many rejected lines; what was read is still published.", valueName: "n"))
    var maxErrors: Int?

    @OptionGroup(title: "Publishing") var publishing: PublishingOptions

    @OptionGroup(title: "HTTP") var http: HTTPIngestOptions

    func validate() throws {
        if http.listen != nil {
            let fileModeOnly = [
                files.isEmpty ? nil : "FILE arguments", format.map { _ in "--format" },
                rejectFile.map { _ in "--reject-file" }, maxErrors.map { _ in "--max-errors" },
            ].compactMap { $0 }
            if let first = fileModeOnly.first { throw ValidationError("\(first) cannot be combined with --listen") }
        }
        if let maxErrors { try OptionBounds.check(maxErrors, "--max-errors", 1...) }
    }

    func run() async throws {
        if http.listen != nil { return try await serveHTTP() }
        let job = IngestFiles(
            settings: try kafka.resolved(),
            paths: files.isEmpty ? ["-"] : files, format: format, rejectFile: rejectFile, maxErrors: maxErrors,
            publishing: try publishing.settings(kafka: kafka))
        let interrupts = InterruptWatcher(stopDeadline: StopDeadline(
            exitCode: .notDelivered,
            consequence: "readings not confirmed by the broker yet are in doubt: they may or may not be on the topic"))
        // Everything from here blocks (read(2), librdkafka): on a thread of its own, never on the concurrency pool.
        let ending = try await runOnDedicatedThread(name: "speedo-ingest") {
            try job.run(stop: interrupts.stop, notes: .standardError)
        }
        if ending == .interrupted {
            try interrupts.endCleanStop(
                "speedo ingest: stopped by signal \(interrupts.signal ?? 0) after flushing what was read")
        }
    }
}

extension InputFormat: ExpressibleByArgument {}
