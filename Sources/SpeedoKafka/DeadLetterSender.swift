import SpeedoCore
import Synchronization

/// Sends dead letters to the source topic's dead-letter topic (its name plus .dlq): the original key, value,
/// timestamp and headers, plus the reason (`speedo-error`, `speedo-error-code`) and where it came from.
///
/// Threading: `send` and `close` block the calling thread.
package final class DeadLetterSender: Sendable {
    package let topic: String
    private let producer: KafkaProducer
    private let deliveries: DeadLetterDeliveries

    package init(configuration: KafkaConfiguration, sourceTopic: String) throws(KafkaError) {
        topic = ConnectionSettings.deadLetterTopic(for: sourceTopic)
        let deliveries = DeadLetterDeliveries()
        self.deliveries = deliveries
        producer = try KafkaProducer(configuration: configuration) { deliveries.record($0) }
    }

    /// Returns once the brokers acknowledged every letter; throws (retriable) when one was refused or not
    /// acknowledged within 30 s.
    package func send(_ letters: [DeadLetter]) throws(KafkaError) {
        guard !letters.isEmpty else { return }
        deliveries.reset()
        for (index, letter) in letters.enumerated() {
            let record = letter.record
            try producer.send(
                topic: topic, key: record.key, value: record.value, timestampMs: record.timestampMs,
                headers: record.headers + DeadLetterHeader.headers(for: letter), tag: UInt64(index), whenQueueFull: .wait(until: nil))
        }
        let outstanding = producer.flush(timeout: .seconds(30))
        if let failure = deliveries.firstFailure {
            throw KafkaError(
                code: failure.code, message: "sending a record to \(topic) failed: \(failure.message)",
                isRetriable: true)
        }
        if outstanding > 0 {
            throw KafkaError(
                code: .timedOut,
                message: "\(outstanding) records for \(topic) were not acknowledged within 30 s",
                isRetriable: true)
        }
    }

    package func close() {
        producer.close()
    }
}

/// Delivery reports of dead letters, written by the producer's poll thread and read by the sending thread.
private final class DeadLetterDeliveries: Sendable {
    private let failure = Mutex<KafkaError?>(nil)

    func reset() { failure.withLock { $0 = nil } }

    func record(_ report: DeliveryReport) {
        guard let error = report.error else { return }
        failure.withLock { if $0 == nil { $0 = error } }
    }

    var firstFailure: KafkaError? { failure.withLock { $0 } }
}
