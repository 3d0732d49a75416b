package import SpeedoCore
import SpeedoKafka
package import SpeedoRuntime

/// One `speedo ingest` of files or standard input: every line validated, the valid ones published, the rest
/// reported (and written to the reject file), and one summary line. Throws `CommandFailure` with the exit code when a
/// reading was not confirmed (75) or a line was rejected (65).
package struct IngestFiles: Sendable {
    package var settings: ConnectionSettings
    /// "-" is standard input.
    package var paths: [String]
    /// nil: told from each input's first bytes.
    package var format: InputFormat?
    package var rejectFile: String?
    package var maxErrors: Int?
    package var publishing: PublishingSettings

    package init(
        settings: ConnectionSettings, paths: [String], format: InputFormat?, rejectFile: String?, maxErrors: Int?,
        publishing: PublishingSettings
    ) {
        self.settings = settings
        self.paths = paths
        self.format = format
        self.rejectFile = rejectFile
        self.maxErrors = maxErrors
        self.publishing = publishing
    }

    /// Blocks until every input is read and every reading confirmed or failed, or `stop` is requested (then what was
    /// read is flushed and `.interrupted` returned, unless readings were left unconfirmed: `.notDelivered` is thrown).
    package func run(stop: StopRequest, notes: Notes) throws -> IngestSession.Stop {
        let inputs = try paths.map { path throws(CommandFailure) in try InputStream(path: path) }
        HeapRetention.keepFreedMemory(upTo: 64 << 20)
        let rejects = try rejectFile.map { path throws(CommandFailure) in try RejectFile(path: path) }
        let tally = DeliveryTally(inputNames: inputs.map(\.name), notes: notes)
        let publisher = try ReadingPublisher.connected(
            settings: settings, options: publishing, command: "ingest", stop: stop, notes: notes,
            defaults: ReadingPublisher.liveProducerDefaults, deliveryHandler: tally.record)

        var session = IngestSession(
            publisher: publisher, tally: tally, stop: stop, rejects: rejects,
            format: format, maxErrors: maxErrors, notes: notes)
        let ending = try session.read(inputs)
        session.finish(interrupted: ending == .interrupted)
        try rejects?.flush()
        let summary = session.summary()
        notes.note("speedo ingest: " + summary.text, fields: summary.fields)

        // Readings not confirmed come first, stopped by a signal or not: they are in doubt, which a clean stop is not.
        if summary.undelivered > 0 || ending == .producerFailed {
            var message = "\(grouped(summary.undelivered)) \(summary.undelivered == 1 ? "reading was" : "readings were") not confirmed by the broker (see above); "
                + (summary.inDoubt == 0
                    ? "none was written, so publishing them again is safe"
                    : "\(grouped(summary.inDoubt)) of them may have been written all the same (in doubt): publishing them again "
                        + "is harmless for readings with ts (stored once), while readings without ts get a new ingestion time "
                        + "and would be stored twice")
            if ending == .producerFailed { message += "; reading stopped because the producer failed" }
            if ending == .interrupted { message += "; reading stopped on a signal" }
            throw CommandFailure(.notDelivered, message)
        }
        if ending == .interrupted { return ending }
        if summary.rejected > 0 {
            var message = "\(grouped(summary.rejected)) \(summary.rejected == 1 ? "line was" : "lines were") rejected (see above); the valid ones were published"
            if ending == .tooManyErrors { message += "; reading stopped at --max-errors \(maxErrors ?? 0)" }
            if let rejectFile { message += "; the rejected lines are in \(rejectFile)" }
            throw CommandFailure(.inputRejected, message)
        }
        return ending
    }
}
