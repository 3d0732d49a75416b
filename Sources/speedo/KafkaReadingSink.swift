import SpeedoCore
import SpeedoKafka
import SpeedoSimulator

/// `simulate`'s default output: readings published straight to Kafka. A full producer queue makes
/// `write` wait, which the simulation reports as falling behind; nothing is dropped.
struct KafkaReadingSink: ReadingSink {
    let publisher: ReadingPublisher
    let tally: DeliveryTally
    let interrupts: InterruptWatcher
    private var published = 0

    init(publisher: ReadingPublisher, tally: DeliveryTally, interrupts: InterruptWatcher) {
        self.publisher = publisher
        self.tally = tally
        self.interrupts = interrupts
    }

    mutating func write(_ batch: [Reading]) throws -> SinkState {
        for reading in batch {
            published += 1
            let tag = DeliveryTally.tag(input: 0, line: published)
            do {
                let queued = try publisher.publish(reading, tag: tag, waitingInSlicesOf: .milliseconds(100)) {
                    !interrupts.isInterrupted
                }
                if !queued { return .closed }
            } catch {
                tally.noteFailure(tag: tag, error)
                if error.isFatal { throw error }
            }
        }
        publisher.serveReports()
        return .open
    }

    /// Waits for the broker's answer on every reading (message.timeout.ms bounds it; a signal cuts it short).
    func finish() throws {
        while publisher.flush(timeout: .milliseconds(200)) > 0 && !interrupts.isInterrupted {}
        publisher.close(flushTimeout: interrupts.isInterrupted ? .seconds(10) : .zero)
    }
}
