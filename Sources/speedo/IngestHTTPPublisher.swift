import SpeedoCore
import SpeedoKafka
import Synchronization

/// What became of one reading of a request.
enum RecordDelivery: Sendable, Equatable {
    /// The broker acknowledged it (acks=all).
    case delivered
    /// The broker, or librdkafka's delivery timeout, failed it; `reason` is the Kafka error's message.
    case failed(reason: String)
    /// Never queued: the producer's queue was full when its turn came.
    case notQueued
}

/// The outcome of publishing one request's readings, available only once every queued reading was reported.
struct BatchDelivery: Sendable {
    /// One entry per reading, in the order given.
    var records: [RecordDelivery]
    /// The producer refused a reading because its queue was full (the readings before it were still queued and
    /// reported); the client should retry later.
    var queueWasFull: Bool

    var deliveredCount: Int { records.count { $0 == .delivered } }
}

/// Publishes the readings of HTTP requests and suspends each request until the broker acknowledged or failed
/// every one of its readings, so that a 2xx answer never covers an unconfirmed record.
///
/// The adapter between the HTTP mode and `KafkaProducer`: the only type of the HTTP mode that produces.
final class HTTPPublisher: Sendable {
    private let producer: KafkaProducer
    private let topic: String
    private let batches: PendingBatches

    /// Tags carry the batch number in their high bits and the reading's index in the low ones, so that a delivery
    /// report finds its place without a per-record table.
    static let indexBits = 24
    static let maximumBatchSize = 1 << indexBits

    init(configuration: KafkaConfiguration, topic: String) throws(KafkaError) {
        let batches = PendingBatches()
        self.batches = batches
        self.topic = topic
        self.producer = try KafkaProducer(configuration: configuration) { report in
            batches.state.withLock { $0.record(report) }?()
        }
    }

    /// Queues every reading (key = sensor id, value = canonical JSON, timestamp = the reading's time) and returns
    /// once each queued one was reported. Stops queueing at the first "queue full" instead of waiting for room.
    func publish(_ readings: [Reading]) async -> BatchDelivery {
        precondition(readings.count < Self.maximumBatchSize, "a request body cannot hold \(Self.maximumBatchSize) readings")
        guard !readings.isEmpty else { return BatchDelivery(records: [], queueWasFull: false) }
        return await withCheckedContinuation { continuation in
            let batch = batches.state.withLock { $0.open(count: readings.count, continuation: continuation) }
            var queued = 0
            var failure: KafkaError?
            var value: [UInt8] = []
            value.reserveCapacity(96)
            for reading in readings {
                value.removeAll(keepingCapacity: true)
                CanonicalJSON.append(reading, to: &value)
                do throws(KafkaError) {
                    try producer.send(
                        topic: topic, key: Array(reading.sensorID.utf8), value: value,
                        timestampMs: reading.timestamp.milliseconds, tag: batch << UInt64(Self.indexBits) | UInt64(queued))
                    queued += 1
                } catch {
                    failure = error
                    break
                }
            }
            batches.state.withLock { $0.closeQueueing(batch, queued: queued, failure: failure) }?()
        }
    }

    /// Records queued or in flight whose delivery report has not arrived yet.
    var outstandingCount: Int { producer.outstandingCount }

    /// See `KafkaProducer.waitForBrokers`; blocks the calling thread.
    func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try producer.waitForBrokers(timeout: timeout)
    }

    /// Waits up to `timeout` for the outstanding records, then closes the producer; returns how many were not
    /// delivered. Blocks the calling thread.
    func close(flushTimeout: Duration) -> Int {
        producer.close(flushTimeout: flushTimeout)
    }
}

/// The batches waiting for delivery reports, shared by the requests and the producer's delivery handler.
private final class PendingBatches: Sendable {
    let state = Mutex(BatchTable())
}

/// Each mutating method returns the resumption to run once the lock is released, when it completed a batch.
private struct BatchTable {
    private struct Batch {
        var records: [RecordDelivery]
        var reported = 0
        /// nil while readings are still being queued: reports can overtake the queueing loop.
        var queued: Int?
        var queueWasFull = false
        let continuation: CheckedContinuation<BatchDelivery, Never>
    }

    private var batches: [UInt64: Batch] = [:]
    private var nextBatch: UInt64 = 0

    mutating func open(count: Int, continuation: CheckedContinuation<BatchDelivery, Never>) -> UInt64 {
        nextBatch &+= 1
        // The batch number wraps long before it could meet a batch still waiting under the same number.
        nextBatch &= (1 << (64 - UInt64(HTTPPublisher.indexBits))) - 1
        batches[nextBatch] = Batch(records: Array(repeating: .notQueued, count: count), continuation: continuation)
        return nextBatch
    }

    mutating func record(_ report: DeliveryReport) -> (() -> Void)? {
        let batch = report.tag >> UInt64(HTTPPublisher.indexBits)
        let index = Int(report.tag & (UInt64(HTTPPublisher.maximumBatchSize) - 1))
        guard batches[batch] != nil else { return nil }
        batches[batch]!.records[index] = report.error.map { .failed(reason: $0.message) } ?? .delivered
        batches[batch]!.reported += 1
        return completeIfDone(batch)
    }

    mutating func closeQueueing(_ batch: UInt64, queued: Int, failure: KafkaError?) -> (() -> Void)? {
        batches[batch]!.queued = queued
        if let failure {
            if failure.isQueueFull {
                batches[batch]!.queueWasFull = true
            } else {
                // Not queued for another reason (e.g. the producer is closed): those records failed outright.
                batches[batch]!.records[queued] = .failed(reason: failure.message)
            }
        }
        return completeIfDone(batch)
    }

    private mutating func completeIfDone(_ batch: UInt64) -> (() -> Void)? {
        guard let pending = batches[batch], let queued = pending.queued, pending.reported == queued else { return nil }
        batches[batch] = nil
        let outcome = BatchDelivery(records: pending.records, queueWasFull: pending.queueWasFull)
        return { pending.continuation.resume(returning: outcome) }
    }
}
