package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// `simulate`'s default output: readings published straight to Kafka. A full producer queue makes
/// `write` wait, which the simulation reports as falling behind; nothing is dropped.
package struct KafkaReadingSink: ReadingSink {
    package let publisher: ReadingPublisher
    package let tally: DeliveryTally
    package let stop: StopRequest
    private var published = 0

    package init(publisher: ReadingPublisher, tally: DeliveryTally, stop: StopRequest) {
        (self.publisher, self.tally, self.stop) = (publisher, tally, stop)
    }

    package mutating func write(_ batch: [Reading]) throws -> SinkState {
        for reading in batch {
            published += 1
            let tag = DeliveryTally.tag(input: 0, line: published)
            do {
                let queued = try publisher.publish(reading, tag: tag, waitingInSlicesOf: .milliseconds(100)) {
                    !stop.isRequested
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
    package func finish() throws {
        while publisher.flush(timeout: .milliseconds(200)) > 0 && !stop.isRequested {}
        publisher.close(flushTimeout: stop.isRequested ? .seconds(10) : .zero)
    }
}
