import Foundation
import Logging
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import Synchronization

/// Counts the readings the broker did not confirm, on the producer's poll thread, and names the first of them
/// (`FILE:LINE: …`). Confirmed ones are counted by the publisher.
package final class DeliveryTally: Sendable {
    /// A streaming tag holds the input's index above the line number.
    private static let lineBits: UInt64 = 40
    private static let reportedFailureLimit = 10

    private let inputNames: [String]
    private let failed = Atomic<Int>(0)
    /// Failures where the record was sent but not acknowledged: it may be on the topic all the same.
    private let inDoubt = Atomic<Int>(0)

    private let notes: Notes

    package init(inputNames: [String], notes: Notes) {
        (self.inputNames, self.notes) = (inputNames, notes)
    }

    package static func tag(input: Int, line: Int) -> UInt64 { UInt64(input) << lineBits | UInt64(line) }

    package var failedCount: Int { failed.load(ordering: .relaxed) }
    package var inDoubtCount: Int { inDoubt.load(ordering: .relaxed) }

    package var record: @Sendable (DeliveryReport) -> Void {
        { [self] report in
            if let error = report.error { noteFailure(tag: report.tag, error) }
        }
    }

    /// A reading that never reached the producer (interrupted while waiting for room, or refused).
    package func noteFailure(tag: UInt64, _ error: any Error) {
        let previous = failed.add(1, ordering: .relaxed).oldValue
        let doubtful = (error as? KafkaError)?.isInDoubt == true
        if doubtful { inDoubt.add(1, ordering: .relaxed) }
        guard previous < Self.reportedFailureLimit else { return }
        let name = inputNames[Int(tag >> Self.lineBits)]
        let line = tag & (1 << Self.lineBits - 1)
        var message = "\(name):\(line): \(doubtful ? "in doubt" : "not delivered"): \(error)"
        if previous + 1 == Self.reportedFailureLimit { message += " (further failures are only counted)" }
        notes.note(message, level: .error, fields: ["input": name, "line": "\(line)"])
    }
}

/// The reading loop of `speedo ingest`: lines → validation → blocks for the producing thread (`IngestProducer`),
/// with rejection reports and progress.
package struct IngestSession {
    package enum Stop: Equatable {
        case endOfInput
        case interrupted
        case tooManyErrors
        case producerFailed
    }

    private struct StopReading: Error {
        let reason: Stop
    }

    package struct Summary {
        package var rejected: Int
        package var undelivered: Int
        /// Of `undelivered`, those that may be on the topic all the same.
        package var inDoubt: Int
        /// How often producing waited for room in the producer's queue (backpressure).
        package var waitsForRoom: Int
        package var text: String
        /// The counts, for a JSON log line.
        package var fields: [String: String]
    }

    private static let chunkSize = 1 << 20
    /// A line still without a newline after this many bytes means the input is not lines at all (`/dev/zero`, a
    /// binary file): it is given up on instead of skipped for ever.
    private static let longestLineSkipped = 64 << 20
    /// Valid readings are handed over in blocks of up to this many (published in `ReadingPublisher.assignPartitions`' order);
    /// a block is also handed over at the end of every chunk read, so a slow pipe never holds readings back.
    private static let blockSize = 4096
    /// How long a signal-interrupted ingest keeps flushing what it read.
    private static let interruptFlushTimeout = Duration.seconds(10)

    package let publisher: ReadingPublisher
    private let producer: IngestProducer
    package let tally: DeliveryTally
    package let stop: StopRequest
    private let notes: Notes
    package let rejects: RejectFile?
    package let format: InputFormat?
    package let maxErrors: Int?
    /// Shared by every input, so that a sensor's readings without `ts` get distinct times across files too.
    private let stamps = ReceptionStamps()

    private var linesRead = 0
    /// The block being filled: the readings encoded with their delivery tags, in input order.
    private var pending: EncodedRecords
    private var rejected = 0
    private var progress: ProgressLine
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant

    package init(
        publisher: ReadingPublisher, tally: DeliveryTally, stop: StopRequest, rejects: RejectFile?,
        format: InputFormat?, maxErrors: Int?, notes: Notes
    ) {
        self.notes = notes
        progress = ProgressLine(notes: notes)
        self.publisher = publisher
        self.producer = IngestProducer(publisher: publisher, tally: tally, stop: stop)
        pending = producer.emptyBlock(reservingCapacity: Self.blockSize)
        self.tally = tally
        self.stop = stop
        self.rejects = rejects
        self.format = format
        self.maxErrors = maxErrors
        self.started = clock.now
    }

    /// Reads every input, then waits until the producing thread has handed every reading to librdkafka (or stopped).
    package mutating func read(_ inputs: [InputStream]) throws -> Stop {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var reason = Stop.endOfInput
        var failure: (any Error)?
        do {
            for (index, input) in inputs.enumerated() {
                try read(input, index: index, buffer: buffer)
            }
        } catch let stop as StopReading {
            reason = stop.reason
            // What was read before --max-errors stopped the reading is still published; so is what was read
            // before a signal (the producing thread gives up only if it then has to wait for room).
            if reason == .tooManyErrors {
                do { try handOverPending() } catch let producing as StopReading { reason = producing.reason }
            }
        } catch {
            // Reading failed (an input or the reject file): what was handed over is still published, then the
            // error is reported.
            failure = error
        }
        while true {
            switch producer.finish(waitingAtMost: ProgressLine.interval) {
            case .busy:
                drawProgress()
            case .stopped(let producing):
                if let failure { throw failure }
                return producing
            case .done:
                if let failure { throw failure }
                return reason
            }
        }
    }

    private mutating func read(_ input: InputStream, index: Int, buffer: UnsafeMutableRawBufferPointer) throws {
        var splitter = LineSplitter()
        var decoder = ReadingDecoder(format: format, missingTime: .received(stamps))
        while true {
            switch try input.read(into: buffer, stop: stop, slice: ProgressLine.interval) {
            case .bytes(let count):
                let now = Timestamp.current()
                try splitter.feed(UnsafeRawBufferPointer(rebasing: buffer[..<count])) { line in
                    try handle(line, of: input, index: index, decoder: &decoder, now: now)
                }
                try handOverPending()
                if let overlong = splitter.overlongLine, overlong.length > Self.longestLineSkipped {
                    note(
                        "\(input.name):\(overlong.number): no newline in \(Self.longestLineSkipped >> 20) MiB: this is not "
                            + "NDJSON or CSV lines; the rest of \(input.name) is not read")
                    return
                }
                drawProgress()
            case .idle:
                drawProgress()
            case .endOfInput:
                let now = Timestamp.current()
                try splitter.finish { line in try handle(line, of: input, index: index, decoder: &decoder, now: now) }
                try handOverPending()
                return
            case .interrupted:
                throw StopReading(reason: .interrupted)
            }
        }
    }

    private mutating func handle(
        _ line: LineSplitter.Line, of input: InputStream, index: Int, decoder: inout ReadingDecoder, now: Timestamp
    ) throws {
        linesRead += 1
        switch decoder.decode(line, now: now) {
        case .reading(let reading):
            pending.append(
                reading, canonicalValue: decoder.lineIsCanonical ? line.bytes : nil,
                tag: DeliveryTally.tag(input: index, line: line.number))
            if pending.count == Self.blockSize { try handOverPending() }
        case .skipped:
            break
        case .rejected(let rejection):
            rejected += 1
            note("\(input.name):\(line.number): \(rejection)", level: .warning, fields: ["input": input.name, "line": "\(line.number)"])
            try rejects?.append(line.bytes)
            if let maxErrors, rejected >= maxErrors { throw StopReading(reason: .tooManyErrors) }
        }
    }

    /// Hands the pending block to the producing thread, waiting (in slices, to redraw progress) while it is behind.
    private mutating func handOverPending() throws {
        guard !pending.isEmpty else { return }
        let block = pending
        pending = producer.emptyBlock(reservingCapacity: Self.blockSize)
        while true {
            switch producer.hand(block, waitingAtMost: ProgressLine.interval) {
            case .accepted: return
            case .full: drawProgress()
            case .stopped(let reason): throw StopReading(reason: reason)
            }
        }
    }

    /// Waits for every queued reading's outcome (bounded when interrupted), then closes the producer, which
    /// reports whatever is still outstanding as failed.
    package mutating func finish(interrupted: Bool) {
        if !interrupted {
            // message.timeout.ms bounds how long any record can stay outstanding; a signal cuts the wait short.
            while publisher.flush(timeout: ProgressLine.interval) > 0 && !stop.isRequested {
                drawProgress()
            }
        }
        publisher.close(flushTimeout: stop.isRequested ? Self.interruptFlushTimeout : .zero)
    }

    package func summary() -> Summary {
        let elapsed = clock.now - started
        let published = publisher.confirmedCount
        let undelivered = tally.failedCount
        let rate = elapsed > .zero ? Int((Double(linesRead) / elapsed.inSeconds).rounded()) : linesRead
        let text = "\(count(linesRead, "line")) read, \(grouped(published)) published (confirmed by the broker), "
            + "\(grouped(rejected)) rejected, \(grouped(undelivered)) undelivered in \(elapsed.secondsText) "
            + "(\(grouped(rate)) lines/s)"
        progress.clear()
        let fields = [
            "lines": "\(linesRead)", "published": "\(published)", "rejected": "\(rejected)", "undelivered": "\(undelivered)",
            "in_doubt": "\(tally.inDoubtCount)", "topic": publisher.topic,
        ]
        return Summary(
            rejected: rejected, undelivered: undelivered, inDoubt: tally.inDoubtCount,
            waitsForRoom: producer.waitsForRoom, text: text, fields: fields)
    }

    private mutating func note(_ message: String, level: Logger.Level? = nil, fields: [String: String] = [:]) {
        progress.clear()
        notes.note(message, level: level, fields: fields)
    }

    private mutating func drawProgress() {
        let (lines, rejected, publisher) = (linesRead, rejected, publisher)
        progress.draw(elapsed: clock.now - started) { seconds in
            "\(grouped(lines)) lines read, \(grouped(publisher.confirmedCount)) published, \(grouped(rejected)) rejected, "
                + "\(grouped(Int(Double(lines) / seconds))) lines/s"
        }
    }
}
