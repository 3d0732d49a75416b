package import SpeedoCore
import Synchronization

/// What became of one reading of a batch.
package enum BatchRecordOutcome: Sendable, Equatable {
    /// The broker acknowledged it (acks=all).
    case delivered
    /// librdkafka or the broker gave up on it (e.g. `message.timeout.ms` passed); publishing it again is safe.
    case failed(KafkaError)
    /// It was never handed to librdkafka: the local queue was full or the publisher was closed.
    case notQueued(KafkaError)
    /// Handed over, but not reported before the deadline: it may still be delivered.
    case unconfirmed
}

/// The outcome of `ReadingPublisher.publish(_:deadline:)`, one entry per reading, in order.
package struct BatchOutcome: Sendable, Equatable {
    package var records: [BatchRecordOutcome]

    package var deliveredCount: Int { records.count { $0 == .delivered } }
    package var isFullyDelivered: Bool { records.allSatisfy { $0 == .delivered } }
    /// Some readings were refused because the producer queue was full: the caller should come back later
    /// (HTTP 503 with Retry-After) instead of waiting.
    package var hitFullQueue: Bool {
        records.contains { if case .notQueued(let error) = $0 { error.isQueueFull } else { false } }
    }
}

/// How `ensureTopic` found or made the readings topic.
package enum TopicPreparation: Sendable, Equatable {
    case existed
    case created
    /// The cluster cannot create topics on request (librdkafka's mock cluster has no controller) but creates a
    /// topic, with its default partition count, when a producer first looks it up.
    case leftToAutoCreation
}

/// The one place where readings become Kafka records: key = sensor id, value = `CanonicalJSON`, Kafka timestamp =
/// the reading's time, through an idempotent (acks=all) producer.
///
/// Two ways to publish, usable together: streaming (`publish(_:tag:whenQueueFull:)`, each outcome reported to the
/// handler given at init with the caller's tag: for `speedo ingest`), and batches (`publish(_:deadline:)`, awaiting
/// the outcome of every reading: for the HTTP API and the simulator).
///
/// Threading: every method may be called from any thread. Streaming publish blocks the calling thread only when it
/// is asked to wait for room; the batch publish never blocks (it suspends). The delivery handler runs on the
/// producer's poll thread (see `KafkaProducer`).
package final class ReadingPublisher: Sendable {
    /// Streaming tags must leave this bit clear: batch records carry it.
    package static let batchTagFlag: UInt64 = 1 << 63
    /// Batch tags hold the batch's number above the reading's index.
    private static let batchIndexBits: UInt64 = 24
    package static let maximumBatchSize = 1 << Int(batchIndexBits)

    /// Settings tuned for throughput (see bench/README.md); any -X given by the operator overrides them. A queue
    /// of 500,000 records (librdkafka's default: 100,000) lets reading run ahead of the broker's acknowledgements
    /// instead of stalling on backpressure every few batches; larger `linger.ms` or batches measured slower.
    package static let producerDefaults: [(String, String)] = [
        ("queue.buffering.max.messages", "500000")
    ]

    package let topic: String
    private let configuration: KafkaConfiguration
    private let producer: KafkaProducer
    private let batches: BatchDeliveries
    /// Key and value of the record being sent, reused so that publishing allocates nothing per reading.
    private let encoding = Mutex<[UInt8]>({
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        return buffer
    }())

    /// `deliveryHandler` receives the report of every streaming record (never of batch records).
    package init(
        configuration: KafkaConfiguration,
        topic: String,
        deliveryHandler: @escaping @Sendable (DeliveryReport) -> Void = { _ in }
    ) throws(KafkaError) {
        var tuned = configuration
        tuned.properties = Self.producerDefaults + configuration.properties
        let batches = BatchDeliveries()
        self.producer = try KafkaProducer(configuration: tuned) { report in
            if report.tag & Self.batchTagFlag != 0 {
                batches.settle(tag: report.tag & ~Self.batchTagFlag, indexBits: Self.batchIndexBits, error: report.error)
            } else {
                deliveryHandler(report)
            }
        }
        self.topic = topic
        self.configuration = configuration
        self.batches = batches
    }

    /// Blocks until a broker answers or throws `.noBrokersAvailable` (see `KafkaProducer.waitForBrokers`).
    package func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try producer.waitForBrokers(timeout: timeout)
    }

    /// Makes sure the topic exists, creating it with `partitions` when missing. Blocks the calling thread.
    package func ensureTopic(partitions: Int32, timeout: Duration = .seconds(10)) throws(KafkaError) -> TopicPreparation {
        let admin = try KafkaAdmin(configuration: configuration)
        if try admin.metadata(timeout: timeout).topic(named: topic) != nil { return .existed }
        // CreateTopics would only time out there, and our producer's first lookup creates the topic anyway.
        if admin.clusterID(timeout: timeout)?.hasPrefix("mockCluster") == true { return .leftToAutoCreation }
        switch try admin.createTopic(name: topic, partitions: partitions, timeout: timeout) {
        case .created: return .created
        case .alreadyExists: return .existed
        }
    }

    /// Queues one reading; its outcome reaches the delivery handler with `tag` (which must leave `batchTagFlag`
    /// clear). With `.wait`, a full queue blocks the calling thread until there is room (backpressure).
    package func publish(_ reading: Reading, tag: UInt64, whenQueueFull policy: QueueFullPolicy) throws(KafkaError) {
        precondition(tag & Self.batchTagFlag == 0, "streaming tags must leave ReadingPublisher.batchTagFlag clear")
        try send(reading, tag: tag, whenQueueFull: policy)
    }

    /// Publishes `readings` (at most `maximumBatchSize`) and returns once every one was acknowledged or failed, or
    /// at `deadline` (what is still in flight is then `.unconfirmed`). Never waits for queue room: when the queue
    /// is full, that reading and the rest are `.notQueued` at once (`hitFullQueue`).
    package func publish(_ readings: [Reading], deadline: ContinuousClock.Instant) async -> BatchOutcome {
        precondition(readings.count <= Self.maximumBatchSize, "a batch holds at most \(Self.maximumBatchSize) readings")
        guard !readings.isEmpty else { return BatchOutcome(records: []) }
        let batch = batches.open(count: readings.count)
        for (index, reading) in readings.enumerated() {
            do {
                try send(reading, tag: Self.batchTagFlag | batch << Self.batchIndexBits | UInt64(index), whenQueueFull: .fail)
            } catch {
                batches.refuse(batch: batch, from: index, error: error)
                break
            }
        }
        return await withTaskGroup(of: Void.self) { [batches] group in
            group.addTask {
                // Cancelled once the outcome is in; expiring a finished batch does nothing.
                try? await Task.sleep(until: deadline, clock: .continuous)
                batches.expire(batch: batch)
            }
            let outcome = await withCheckedContinuation { continuation in
                batches.attach(continuation, to: batch)
            }
            group.cancelAll()
            return outcome
        }
    }

    /// Records queued or in flight whose outcome has not been reported yet.
    package var outstandingCount: Int { producer.outstandingCount }

    /// Blocks until everything queued was reported or `timeout` passed; returns how many are still outstanding.
    @discardableResult
    package func flush(timeout: Duration) -> Int {
        producer.flush(timeout: timeout)
    }

    /// Flushes up to `flushTimeout`, then gives up on the rest (each gets a failed report, and pending batches
    /// complete). Returns how many records were not delivered in time.
    @discardableResult
    package func close(flushTimeout: Duration = .seconds(10)) -> Int {
        producer.close(flushTimeout: flushTimeout)
    }

    private func send(_ reading: Reading, tag: UInt64, whenQueueFull policy: QueueFullPolicy) throws(KafkaError) {
        while true {
            // The encoder is locked only while librdkafka copies the record: waiting for room happens outside,
            // so a blocked streaming caller does not stall batch callers.
            let failure: KafkaError? = encoding.withLock { buffer in
                buffer.removeAll(keepingCapacity: true)
                var sensorID = reading.sensorID
                sensorID.withUTF8 { buffer.append(contentsOf: $0) }
                let keyLength = buffer.count
                CanonicalJSON.append(reading, to: &buffer)
                return buffer.withUnsafeBytes { bytes in
                    do throws(KafkaError) {
                        try producer.send(
                            topic: topic,
                            key: UnsafeRawBufferPointer(rebasing: bytes[..<keyLength]),
                            value: UnsafeRawBufferPointer(rebasing: bytes[keyLength...]),
                            timestampMs: reading.timestamp.milliseconds,
                            tag: tag,
                            whenQueueFull: .fail)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            guard let failure else { return }
            guard failure.isQueueFull, case .wait(let deadline) = policy else { throw failure }
            if let deadline, ContinuousClock.now >= deadline { throw failure }
            producer.waitForProgress(until: deadline)
        }
    }
}

/// The bookkeeping of batches in flight: a state machine behind a lock whose transitions return the continuation
/// to resume, resumed outside the lock.
private final class BatchDeliveries: Sendable {
    private struct Batch {
        var outcomes: [BatchRecordOutcome]
        var awaiting: Int
        var continuation: CheckedContinuation<BatchOutcome, Never>?
        var deadlinePassed = false
    }

    private struct State {
        var nextBatch: UInt64 = 0
        var batches: [UInt64: Batch] = [:]

        mutating func open(count: Int) -> UInt64 {
            defer { nextBatch += 1 }
            batches[nextBatch] = Batch(outcomes: Array(repeating: .unconfirmed, count: count), awaiting: count)
            return nextBatch
        }

        mutating func settle(batch: UInt64, index: Int, as outcome: BatchRecordOutcome) -> Resumption? {
            // Absent when the batch already returned at its deadline.
            guard batches[batch] != nil else { return nil }
            batches[batch]!.outcomes[index] = outcome
            batches[batch]!.awaiting -= 1
            return finishIfComplete(batch)
        }

        mutating func refuse(batch: UInt64, from index: Int, error: KafkaError) {
            guard var entry = batches[batch] else { return }
            for position in index..<entry.outcomes.count { entry.outcomes[position] = .notQueued(error) }
            entry.awaiting -= entry.outcomes.count - index
            batches[batch] = entry
        }

        mutating func attach(_ continuation: CheckedContinuation<BatchOutcome, Never>, to batch: UInt64) -> Resumption? {
            batches[batch]!.continuation = continuation
            if batches[batch]!.deadlinePassed { return finish(batch) }
            return finishIfComplete(batch)
        }

        mutating func expire(batch: UInt64) -> Resumption? {
            guard let entry = batches[batch] else { return nil }
            guard entry.continuation != nil else {
                batches[batch]!.deadlinePassed = true
                return nil
            }
            return finish(batch)
        }

        private mutating func finishIfComplete(_ batch: UInt64) -> Resumption? {
            guard let entry = batches[batch], entry.awaiting == 0, entry.continuation != nil else { return nil }
            return finish(batch)
        }

        private mutating func finish(_ batch: UInt64) -> Resumption? {
            guard let entry = batches.removeValue(forKey: batch), let continuation = entry.continuation else { return nil }
            return Resumption(continuation: continuation, outcome: BatchOutcome(records: entry.outcomes))
        }
    }

    private struct Resumption {
        let continuation: CheckedContinuation<BatchOutcome, Never>
        let outcome: BatchOutcome

        func resume() { continuation.resume(returning: outcome) }
    }

    private let state = Mutex(State())

    func open(count: Int) -> UInt64 { state.withLock { $0.open(count: count) } }

    func settle(tag: UInt64, indexBits: UInt64, error: KafkaError?) {
        let index = Int(tag & (1 << indexBits - 1))
        let outcome: BatchRecordOutcome = error.map { .failed($0) } ?? .delivered
        state.withLock { $0.settle(batch: tag >> indexBits, index: index, as: outcome) }?.resume()
    }

    func refuse(batch: UInt64, from index: Int, error: KafkaError) {
        state.withLock { $0.refuse(batch: batch, from: index, error: error) }
    }

    func attach(_ continuation: CheckedContinuation<BatchOutcome, Never>, to batch: UInt64) {
        state.withLock { $0.attach(continuation, to: batch) }?.resume()
    }

    func expire(batch: UInt64) {
        state.withLock { $0.expire(batch: batch) }?.resume()
    }
}
