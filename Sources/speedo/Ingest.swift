import ArgumentParser
import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoStore

struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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
            the summary is printed and the exit code is 130; a second signal exits at once.

            Exit codes: 0 every line published; 65 some lines rejected (the valid ones were published); \
            69 no broker reachable within --connect-timeout; 75 some readings not confirmed by the broker \
            (publishing them again is safe); 130 interrupted.

            With --listen, serves the HTTP ingestion API instead (see --listen); SIGINT or SIGTERM stop \
            accepting connections, the requests in flight get their answers, the producer is flushed, and the \
            exit code is 130.

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

    @OptionGroup(title: "Kafka")
    var kafka: KafkaOptions

    @Option(help: ArgumentHelp("Input format for every input instead of detecting it.", valueName: "ndjson|csv"))
    var format: InputFormat?

    @Option(help: ArgumentHelp(
        "Write every rejected line as read (without its line ending) to this file, to fix and ingest again.",
        valueName: "path"))
    var rejectFile: String?

    @Option(help: ArgumentHelp(
        "Stop reading after this many rejected lines; what was read is still published.", valueName: "n"))
    var maxErrors: Int?

    @Option(help: ArgumentHelp("Partitions of the topic when it has to be created.", valueName: "n"))
    var partitions: Int32 = 6

    @Option(help: ArgumentHelp(
        "How long to keep retrying when no broker answers at startup (e.g. 30s, 2m).", valueName: "duration"))
    var connectTimeout = "30s"

    @OptionGroup(title: "HTTP")
    var http: HTTPIngestOptions

    func validate() throws {
        if http.listen != nil {
            let fileModeOnly = [
                files.isEmpty ? nil : "FILE arguments", format.map { _ in "--format" },
                rejectFile.map { _ in "--reject-file" }, maxErrors.map { _ in "--max-errors" },
            ].compactMap { $0 }
            if let first = fileModeOnly.first { throw ValidationError("\(first) cannot be combined with --listen") }
        }
        if let maxErrors, maxErrors < 1 { throw ValidationError("--max-errors must be 1 or more (got \(maxErrors))") }
        guard partitions >= 1 else { throw ValidationError("--partitions must be 1 or more (got \(partitions))") }
        _ = try parsedConnectTimeout()
    }

    func parsedConnectTimeout() throws -> Duration {
        do {
            return .microseconds(try TimeSpan.parse(connectTimeout).microseconds)
        } catch {
            throw ValidationError("--connect-timeout: \(error)")
        }
    }

    func run() async throws {
        if http.listen != nil { return try await serveHTTP() }
        let job = IngestJob(
            settings: try ConnectionSettings.resolve(kafka: kafka, database: nil),
            paths: files.isEmpty ? ["-"] : files, format: format, rejectFile: rejectFile, maxErrors: maxErrors,
            partitions: partitions, connectTimeout: try parsedConnectTimeout(), connectTimeoutText: connectTimeout)
        // Everything from here blocks (read(2), librdkafka): on a thread of its own, never on the concurrency pool.
        try await runOnDedicatedThread(name: "speedo-ingest") { try job.run() }
    }
}

/// One run of `speedo ingest`, with its options resolved.
private struct IngestJob: Sendable {
    let settings: ConnectionSettings
    let paths: [String]
    let format: InputFormat?
    let rejectFile: String?
    let maxErrors: Int?
    let partitions: Int32
    let connectTimeout: Duration
    /// As the user wrote it, for messages.
    let connectTimeoutText: String

    func run() throws {
        let inputs = try paths.map { path throws(CommandFailure) in try InputStream(path: path) }
        let rejects = try rejectFile.map { path throws(CommandFailure) in try RejectFile(path: path) }
        let interrupts = InterruptWatcher()
        let tally = DeliveryTally(inputNames: inputs.map(\.name))
        let publisher = try ReadingPublisher(
            configuration: KafkaConfiguration(settings), topic: settings.topic.value, deliveryHandler: tally.record)
        try connectPublisher(
            publisher, brokers: settings.brokers.value, timeout: connectTimeout, timeoutText: connectTimeoutText,
            partitions: partitions, interrupts: interrupts)

        var session = IngestSession(
            publisher: publisher, tally: tally, interrupts: interrupts, rejects: rejects,
            format: format, maxErrors: maxErrors)
        let stop = try session.read(inputs)
        session.finish(interrupted: stop == .interrupted)
        try rejects?.flush()
        let summary = session.summary()
        Terminal.note("speedo ingest: " + summary.text)

        if stop == .interrupted {
            throw CommandFailure(.interrupted, "interrupted by signal \(interrupts.signal ?? 0) after flushing what was read")
        }
        if summary.undelivered > 0 || stop == .producerFailed {
            var message = "\(grouped(summary.undelivered)) readings were not confirmed by the broker (see above); "
                + "publishing them again is safe"
            if stop == .producerFailed { message += "; reading stopped because the producer failed" }
            throw CommandFailure(.notDelivered, message)
        }
        if summary.rejected > 0 {
            var message = "\(grouped(summary.rejected)) lines were rejected (see above); the valid ones were published"
            if stop == .tooManyErrors { message += "; reading stopped at --max-errors \(maxErrors ?? 0)" }
            if let rejectFile { message += "; the rejected lines are in \(rejectFile)" }
            throw CommandFailure(.inputRejected, message)
        }
    }
}

/// Waits for a broker with notes on stderr, so that ingest started together with its cluster does not fail.
/// Shared by both modes; without `interrupts` (HTTP mode, whose server owns the signals later), a signal while
/// waiting ends the process.
func connectPublisher(
    _ publisher: ReadingPublisher, brokers: String, timeout: Duration, timeoutText connectTimeoutText: String,
    partitions: Int32, interrupts: InterruptWatcher?
) throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    var attempts = 0
    while true {
        attempts += 1
        do {
            try publisher.waitForBrokers(timeout: min(deadline - clock.now, .seconds(2)))
            break
        } catch {
            let remaining = deadline - clock.now
            if interrupts?.isInterrupted == true {
                throw CommandFailure(.interrupted, "interrupted while waiting for Kafka at \(brokers)")
            }
            guard remaining > .zero else {
                throw CommandFailure(
                    .unavailable,
                    "cannot reach Kafka at \(brokers): no broker answered within \(connectTimeoutText) "
                        + "(\(attempts) attempts); is the cluster running and reachable? "
                        + "(`speedo dev up` starts a local one; -b/--brokers or SPEEDO_BROKERS chooses another, "
                        + "--connect-timeout waits longer)")
            }
            Terminal.note(
                "speedo ingest: no Kafka broker answers at \(brokers) yet (attempt \(attempts)); "
                    + "retrying for up to \(Int(remaining.components.seconds) + 1) s more")
        }
    }
    if try publisher.ensureTopic(partitions: partitions) == .leftToAutoCreation {
        Terminal.note(
            "speedo ingest: this cluster cannot create topics on request (librdkafka's mock cluster); "
                + "\(publisher.topic) is created on first use with the cluster's default partition count")
    }
}

extension InputFormat: ExpressibleByArgument {}
