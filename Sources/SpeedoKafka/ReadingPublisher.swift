import Glibc
package import SpeedoCore
import SpeedoRuntime
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
/// the reading's time, through an idempotent (acks=all) producer. The same for a sensor's `LatestState` in
/// speed-latest (its value then holds the statistics after the reading).
///
/// Two ways to publish, usable together: streaming (`publish(_:tag:whenQueueFull:)`, each outcome reported to the
/// handler given at init with the caller's tag: for `speedo ingest`), and batches (`publish(_:deadline:)`, awaiting
/// the outcome of every reading: for the HTTP API and the simulator).
///
/// Threading: every method may be called from any thread. Streaming publish blocks the calling thread only when it
/// is asked to wait for room; the batch publish never blocks (it suspends). The delivery handler runs on the
/// producer's poll thread with `.everyRecord`, on the thread that publishes, flushes or closes with `.failuresOnly`
/// (see `KafkaProducer`).
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

    /// For the commands that publish readings as sensors send them (`simulate`, `ingest` from a pipe): a reading is
    /// sent within a millisecond (`linger.ms` 1) rather than after librdkafka 2.0.2's 5 ms wait for company, 5 ms less
    /// from reading to screen at the demo's rate (reading → speed-events p50 11 → 6 ms at 20 sensors × 1 Hz,
    /// bench/README.md). Where readings come fast, batches fill before the millisecond is up: ingest of 1,000,000
    /// lines took the same time and CPU with 1 as with 5; at 20,000 readings/s the simulator spends about 15 % more
    /// CPU than with 5, where 0 doubled it. `-X` overrides it.
    package static let liveProducerDefaults = [("linger.ms", "1")]

    /// Which streaming outcomes reach the delivery handler.
    package enum StreamingReports: Sendable {
        case everyRecord
        /// Only failures, for one publishing thread at a time, which also serves the reports (`serveReports()`, and
        /// whenever it waits): the cheapest way to publish at full speed (`ReportServing.sender`). Every record still
        /// ends either acknowledged or reported, so `confirmedCount` stays exact; batch publishing, which awaits each
        /// acknowledgement, is unavailable.
        case failuresOnly
    }

    package let topic: String
    private let configuration: KafkaConfiguration
    /// The value the producer runs with for a librdkafka property, for saying which settings are in effect.
    package func effectiveProperty(_ key: String) -> String? {
        producer.handle.effectiveProperty(key)
    }

    private let producer: KafkaProducer
    private let batches: BatchDeliveries
    /// One thread ends every batch whose deadline passed, instead of a timer task per batch (which cost about 8 % of
    /// the CPU of an HTTP request: bench/README.md). Only publishers that can publish batches have it.
    private let deadlineSweeper: PollingThread?
    private let streamingReports: StreamingReports
    private let streamed = StreamCounts()
    private let partitionLookup = Mutex(PartitionLookup.notTried)
    /// Key and value of the record being sent, reused so that publishing from one thread allocates nothing per reading.
    private let encoding = Mutex<[UInt8]>({
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256)
        return buffer
    }())

    /// `deliveryHandler` receives the reports of streaming records (never of batch records), all of them or only
    /// the failures.
    package init(
        configuration: KafkaConfiguration,
        topic: String,
        streamingReports: StreamingReports = .everyRecord,
        deliveryHandler: @escaping @Sendable (DeliveryReport) -> Void = { _ in }
    ) throws(KafkaError) {
        var tuned = configuration
        tuned.properties = Self.producerDefaults + configuration.properties
        let batches = BatchDeliveries()
        let streamed = self.streamed
        let (reports, serving): (DeliveryReports, ReportServing) = switch streamingReports {
        case .everyRecord: (.everyRecord, .pollThread)
        case .failuresOnly: (.failuresOnly, .sender)
        }
        self.producer = try KafkaProducer(configuration: tuned, reports: reports, servedBy: serving) { report in
            if report.tag & Self.batchTagFlag != 0 {
                batches.settle(tag: report.tag & ~Self.batchTagFlag, indexBits: Self.batchIndexBits, error: report.error)
            } else {
                if report.error != nil { streamed.failed.add(1, ordering: .relaxed) }
                deliveryHandler(report)
            }
        }
        self.topic = topic
        self.configuration = configuration
        self.batches = batches
        self.streamingReports = streamingReports
        self.deadlineSweeper = streamingReports == .everyRecord
            ? PollingThread(name: "speedo-deadline") {
                usleep(BatchDeliveries.sweepInterval)
                batches.expire(before: .now)
            }
            : nil
    }

    deinit {
        deadlineSweeper?.stop()
    }

    /// Streaming records the broker acknowledged so far: those queued, less those reported failed and those
    /// still outstanding (exact while no batch is in flight).
    package var confirmedCount: Int {
        streamed.queued.load(ordering: .relaxed) - streamed.failed.load(ordering: .relaxed) - outstandingCount
    }

    /// Blocks until a broker answers or throws `.noBrokersAvailable` (see `KafkaProducer.waitForBrokers`).
    package func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try producer.waitForBrokers(timeout: timeout)
    }

    /// See `KafkaHandle.connect(within:retrying:)`: the startup wait every command shares (`--connect-timeout`).
    package func connect(
        within connectTimeout: Duration, retrying: (BrokerWaitNotice) -> Bool
    ) throws(KafkaError) -> BrokerWaitOutcome {
        try producer.handle.connect(within: connectTimeout, retrying: retrying)
    }

    /// Makes sure the topic exists, creating it with `partitions` when missing. Blocks the calling thread.
    package func ensureTopic(partitions: Int32, timeout: Duration = .seconds(10)) throws(KafkaError) -> TopicPreparation {
        // The producer's own connection says whether the topic is there (a request for every topic creates none); an
        // admin client, with a connection and threads of its own, only when it must be made. Starting and stopping
        // one cost every run of `speedo ingest` 1 to 2.5 ms before its first record (a one-line ingest: 31.4–32.6 → 30.0 ms).
        if try producer.handle.metadata(timeout: timeout).topic(named: topic) != nil { return .existed }
        let admin = try KafkaAdmin(configuration: configuration)
        // CreateTopics would only time out there, and our producer's first lookup creates the topic anyway.
        if admin.clusterID(timeout: timeout)?.hasPrefix("mockCluster") == true { return .leftToAutoCreation }
        switch try admin.createTopic(name: topic, partitions: partitions, timeout: timeout) {
        case .created: return .created
        case .alreadyExists: return .existed
        }
    }

    /// Queues one reading; its outcome reaches the delivery handler with `tag` (which must leave `batchTagFlag`
    /// clear). With `.wait`, a full queue blocks the calling thread until there is room (backpressure). (Blocks of
    /// readings go faster through `encode` and `queue`.)
    package func publish(
        _ reading: Reading, tag: UInt64, whenQueueFull policy: QueueFullPolicy
    ) throws(KafkaError) {
        try stream(.reading(reading), tag: tag, whenQueueFull: policy)
    }

    /// Queues a sensor's latest state (for speed-latest), streamed like a reading.
    package func publish(_ state: LatestState, tag: UInt64, whenQueueFull policy: QueueFullPolicy) throws(KafkaError) {
        try stream(.latestState(state), tag: tag, whenQueueFull: policy)
    }

    private func stream(
        _ payload: Payload, tag: UInt64, whenQueueFull policy: QueueFullPolicy
    ) throws(KafkaError) {
        precondition(tag & Self.batchTagFlag == 0, "streaming tags must leave ReadingPublisher.batchTagFlag clear")
        try send(payload, tag: tag, whenQueueFull: policy)
        streamed.queued.add(1, ordering: .relaxed)
    }

    /// Gives each record the partition librdkafka's partitioner would pick for its key and orders them by partition.
    /// Queuing records partition by partition costs librdkafka about half the CPU of records that alternate between
    /// partitions (bench/README.md), and handing each its partition spares librdkafka hashing the key again. The
    /// partition count is asked of the cluster on the first call (which may block) and again every
    /// `PartitionLookup.refreshInterval`, so that a topic that gained partitions is followed within that time, as
    /// librdkafka's own metadata refresh would. Left to librdkafka, in input order, while the count is unknown or when
    /// the partitioner ignores keys.
    package func assignPartitions(_ records: inout EncodedRecords) {
        guard let partitioner = currentKeyPartitioner() else { return }
        records.assignPartitions(partitioner)
    }

    /// Queues `records` from `start` on as streaming records (their outcomes reach the delivery handler with their
    /// tags), never waiting for room: returns the position of the first one refused, with why (a full queue:
    /// `waitForRoom`, then queue from there again), or `records.count` and nil.
    package func queue(_ records: EncodedRecords, from start: Int) -> (next: Int, refusal: KafkaError?) {
        let outcome = producer.send(topic: topic, records, from: start)
        streamed.queued.add(outcome.next - start, ordering: .relaxed)
        return outcome
    }

    /// Waits a little (at most 2 ms, serving delivery reports) for deliveries to make room in a full queue.
    package func waitForRoom() {
        producer.waitForProgress(until: nil)
    }

    private func currentKeyPartitioner() -> KeyPartitioner? {
        let now = ContinuousClock.now
        let shouldAsk: Bool = partitionLookup.withLock { lookup in
            switch lookup {
            case .notTried: return true
            case .failed(let at): return now - at >= PartitionLookup.retryInterval
            case .known(_, let at): return now - at >= PartitionLookup.refreshInterval
            case .keyIgnored: return false
            }
        }
        if shouldAsk {
            // Outside the lock: a metadata request takes a round trip (at most `timeout`).
            let outcome: PartitionLookup
            do {
                let name = configuration.properties.last { $0.0 == "partitioner" }?.1 ?? PartitionLookup.defaultPartitioner
                let partitioner = try producer.keyPartitioner(topic: topic, partitioner: name, timeout: PartitionLookup.timeout)
                outcome = partitioner.map { .known($0, at: now) } ?? .keyIgnored
            } catch {
                outcome = .failed(at: now)
            }
            partitionLookup.withLock { $0 = outcome }
        }
        return partitionLookup.withLock { lookup in
            if case .known(let partitioner, _) = lookup { partitioner } else { nil }
        }
    }

    /// Publishes `readings` (at most `maximumBatchSize`) and returns once every one was acknowledged or failed, or
    /// at `deadline` (give or take 20 ms; what is still in flight is then `.unconfirmed`). Never waits for queue room:
    /// when the queue is full, that reading and the rest are `.notQueued` at once (`hitFullQueue`).
    package func publish(_ readings: [Reading], deadline: ContinuousClock.Instant) async -> BatchOutcome {
        await withCheckedContinuation { continuation in
            publish(readings, deadline: deadline) { continuation.resume(returning: $0) }
        }
    }

    /// `publish(_:deadline:)` for callers that must not suspend (an event loop): `completion` runs once, with the
    /// outcome, on whichever thread settles the batch last: the producer's poll thread, the deadline sweeper, or
    /// the calling thread itself when nothing could be queued.
    package func publish(
        _ readings: [Reading], deadline: ContinuousClock.Instant,
        completion: @escaping @Sendable (BatchOutcome) -> Void
    ) {
        precondition(readings.count <= Self.maximumBatchSize, "a batch holds at most \(Self.maximumBatchSize) readings")
        precondition(streamingReports == .everyRecord, "batch publishing awaits every acknowledgement")
        guard !readings.isEmpty else { return completion(BatchOutcome(records: [])) }
        let batch = batches.open(count: readings.count, deadline: deadline)
        for (index, reading) in readings.enumerated() {
            do {
                try send(
                    .reading(reading), tag: Self.batchTagFlag | batch << Self.batchIndexBits | UInt64(index),
                    whenQueueFull: .fail)
            } catch {
                batches.refuse(batch: batch, from: index, error: error)
                break
            }
        }
        batches.attach(completion, to: batch)
    }

    /// With `.failuresOnly`: serves the delivery reports that arrived (see `KafkaProducer.serveReports`); the
    /// publishing thread calls it after each batch of readings.
    package func serveReports() {
        producer.serveReports()
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

    /// What a record holds; either way keyed and stamped by its reading.
    private enum Payload {
        case reading(Reading)
        case latestState(LatestState)

        var reading: Reading {
            switch self {
            case .reading(let reading): reading
            case .latestState(let state): state.reading
            }
        }

        func appendValue(to buffer: inout [UInt8]) {
            switch self {
            case .reading(let reading): CanonicalJSON.append(reading, to: &buffer)
            case .latestState(let state): state.append(to: &buffer)
            }
        }
    }

    private func send(
        _ payload: Payload, tag: UInt64, whenQueueFull policy: QueueFullPolicy
    ) throws(KafkaError) {
        while true {
            // The shared buffer is locked only while librdkafka copies the record (waiting for room happens outside,
            // so a blocked streaming caller does not stall batch callers). When another thread holds it (concurrent
            // HTTP requests), a buffer of our own is cheaper than waiting for the lock.
            let failure: KafkaError?
            if let attempt = encoding.withLockIfAvailable({ buffer in
                send(payload, tag: tag, encodingIn: &buffer)
            }) {
                failure = attempt
            } else {
                var buffer: [UInt8] = []
                failure = send(payload, tag: tag, encodingIn: &buffer)
            }
            guard let failure else { return }
            guard failure.isQueueFull, case .wait(let deadline) = policy else { throw failure }
            if let deadline, ContinuousClock.now >= deadline { throw failure }
            producer.waitForProgress(until: deadline)
        }
    }

    /// Encodes key and value into `buffer` and hands the record to librdkafka once (never waiting for room).
    private func send(
        _ payload: Payload, tag: UInt64, encodingIn buffer: inout [UInt8]
    ) -> KafkaError? {
        let reading = payload.reading
        buffer.removeAll(keepingCapacity: true)
        var sensorID = reading.sensorID
        sensorID.withUTF8 { buffer.append(contentsOf: $0) }
        let keyLength = buffer.count
        payload.appendValue(to: &buffer)
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
}

/// What `ReadingPublisher.assignPartitions` knows of the topic's partitioning.
private enum PartitionLookup {
    case notTried
    case failed(at: ContinuousClock.Instant)
    case known(KeyPartitioner, at: ContinuousClock.Instant)
    /// The configured partitioner does not look at keys (`random`): there is no order to follow.
    case keyIgnored

    /// librdkafka's default `partitioner`.
    static let defaultPartitioner = "consistent_random"
    static let timeout = Duration.seconds(2)
    static let retryInterval = Duration.seconds(10)
    static let refreshInterval = Duration.seconds(30)
}

/// Streaming records queued and reported failed, shared with the delivery callback.
private final class StreamCounts: Sendable {
    let queued = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
}

/// The bookkeeping of batches in flight: a state machine behind a lock whose transitions return the completion to
/// call, called outside the lock.
private final class BatchDeliveries: Sendable {
    private struct Batch {
        var outcomes: [BatchRecordOutcome]
        var awaiting: Int
        /// Attached once every record was handed over, so that a batch cannot finish while it is still being sent.
        var completion: (@Sendable (BatchOutcome) -> Void)?
        let deadline: ContinuousClock.Instant
    }

    private struct State {
        var nextBatch: UInt64 = 0
        var batches: [UInt64: Batch] = [:]

        mutating func open(count: Int, deadline: ContinuousClock.Instant) -> UInt64 {
            defer { nextBatch += 1 }
            batches[nextBatch] = Batch(
                outcomes: Array(repeating: .unconfirmed, count: count), awaiting: count, deadline: deadline)
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

        mutating func attach(_ completion: @escaping @Sendable (BatchOutcome) -> Void, to batch: UInt64) -> Resumption? {
            batches[batch]!.completion = completion
            if batches[batch]!.deadline <= .now { return finish(batch) }
            return finishIfComplete(batch)
        }

        /// Batches still being sent have no completion yet: `attach` checks their deadline.
        mutating func expire(before now: ContinuousClock.Instant) -> [Resumption] {
            let due = batches.compactMap { entry in
                entry.value.completion != nil && entry.value.deadline <= now ? entry.key : nil
            }
            return due.compactMap { finish($0) }
        }

        private mutating func finishIfComplete(_ batch: UInt64) -> Resumption? {
            guard let entry = batches[batch], entry.awaiting == 0, entry.completion != nil else { return nil }
            return finish(batch)
        }

        private mutating func finish(_ batch: UInt64) -> Resumption? {
            guard let entry = batches.removeValue(forKey: batch), let completion = entry.completion else { return nil }
            return Resumption(completion: completion, outcome: BatchOutcome(records: entry.outcomes))
        }
    }

    private struct Resumption {
        let completion: @Sendable (BatchOutcome) -> Void
        let outcome: BatchOutcome

        func resume() { completion(outcome) }
    }

    /// How often (µs) the sweeper looks for batches past their deadline: how late at most a batch returns.
    static let sweepInterval: UInt32 = 20_000

    private let state = Mutex(State())

    func open(count: Int, deadline: ContinuousClock.Instant) -> UInt64 {
        state.withLock { $0.open(count: count, deadline: deadline) }
    }

    func settle(tag: UInt64, indexBits: UInt64, error: KafkaError?) {
        let index = Int(tag & (1 << indexBits - 1))
        let outcome: BatchRecordOutcome = error.map { .failed($0) } ?? .delivered
        state.withLock { $0.settle(batch: tag >> indexBits, index: index, as: outcome) }?.resume()
    }

    func refuse(batch: UInt64, from index: Int, error: KafkaError) {
        state.withLock { $0.refuse(batch: batch, from: index, error: error) }
    }

    func attach(_ completion: @escaping @Sendable (BatchOutcome) -> Void, to batch: UInt64) {
        state.withLock { $0.attach(completion, to: batch) }?.resume()
    }

    func expire(before now: ContinuousClock.Instant) {
        for resumption in state.withLock({ $0.expire(before: now) }) { resumption.resume() }
    }
}
