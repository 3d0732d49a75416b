import CRdKafka
import Foundation
import SpeedoCore
import SpeedoRuntime
import Synchronization

/// The outcome of one record, identified by the `tag` the caller gave to `send`.
package struct DeliveryReport: Sendable {
    package var tag: UInt64
    package var topic: String
    package var partition: Int32
    /// The record's offset, or -1 when it was not delivered.
    package var offset: Int64
    /// nil when the broker acknowledged the record (with acks=all).
    package var error: KafkaError?
}

/// What `send` does when librdkafka's local queue is full.
package enum QueueFullPolicy: Sendable {
    /// Throw the queue-full error at once (HTTP ingestion answers 503).
    case fail
    /// Wait for deliveries to make room (stdin ingestion applies backpressure); nil waits without limit.
    case wait(until: ContinuousClock.Instant?)
}

/// Which delivery reports reach the handler.
package enum DeliveryReports: Sendable {
    case everyRecord
    /// Only failures: a confirmed record just leaves the queue (`outstandingCount`), without a call into Swift.
    case failuresOnly
}

/// Which thread serves librdkafka's delivery reports, and with them frees the records reported.
package enum ReportServing: Sendable {
    /// A poll thread of the producer's own: reports arrive whatever the senders do (servers, many senders).
    case pollThread
    /// The thread that sends, in `serveReports()` and whenever it waits (a full queue, `flush`, `close`). glibc's
    /// allocator frees a record on the thread that allocated it without locking; freed on another thread (a poll
    /// thread, or librdkafka's broker thread with `delivery.report.only.error`), every record takes the allocating
    /// thread's arena lock against it, which cost kcat itself half again its time (bench/README.md). For one sending
    /// thread at a time.
    case sender
}

/// An idempotent (`enable.idempotence=true`, `acks=all`) producer.
///
/// Threading: `send` never blocks with `.fail` and blocks the calling thread with `.wait`; `flush`, `close` and
/// `waitForBrokers` block the calling thread. The delivery handler runs where reports are served (`ReportServing`):
/// on the producer's own poll thread, one report at a time, or on the thread that sends, flushes or closes. Records
/// still undelivered when `close` gives up get their reports (with a purge error) on the thread calling `close` (or
/// `deinit`). Do not call `close` from the delivery handler.
package final class KafkaProducer: Sendable {
    private struct State {
        var isOpen = true
        /// Resolved once per name: producing by handle skips librdkafka's per-record topic lookup under its lock.
        var topics: [String: TopicHandle] = [:]
        /// Callers mostly produce to one topic: comparing with the last name skips hashing it for every record.
        var lastTopic: (name: String, handle: TopicHandle)?
    }

    /// For this module's publishers (the startup wait: `KafkaHandle.connect`).
    let handle: KafkaHandle
    private let deliveries: DeliveryContext
    /// nil when the sender serves the reports.
    private let poller: PollingThread?
    private let state = Mutex(State())

    package init(
        configuration: KafkaConfiguration,
        reports: DeliveryReports = .everyRecord,
        servedBy serving: ReportServing = .pollThread,
        deliveryHandler: @escaping @Sendable (DeliveryReport) -> Void
    ) throws(KafkaError) {
        let conf = try configuration.makeConf(
            client: "producer",
            defaults: [],
            enforced: KafkaConfiguration.producerGuarantees
        )
        rd_kafka_conf_set_dr_msg_cb(conf.pointer) { _, message, opaque in
            guard let message, let opaque else { return }
            // Called for every record; the handle keeps the context alive, so it is used without a retain and
            // release of its own (4 % of ingest's producing thread when it was taken as a strong reference).
            Unmanaged<DeliveryContext>.fromOpaque(opaque)._withUnsafeGuaranteedRef { $0.report(message) }
        }
        let deliveries = DeliveryContext(handler: deliveryHandler, reportsSuccesses: reports == .everyRecord)
        let handle = try KafkaHandle(
            RD_KAFKA_PRODUCER, conf: conf, bootstrapServers: configuration.bootstrapServers, context: deliveries)
        self.handle = handle
        self.deliveries = deliveries
        switch serving {
        case .pollThread:
            // Weak, so that the last reference to the handle (and thus rd_kafka_destroy) stays with the producer.
            self.poller = PollingThread(name: "speedo-kpoll") { [weak handle, deliveries] in
                guard let handle else { return }
                if rd_kafka_poll(handle.pointer, 100) > 0 { deliveries.signalProgress() }
            }
        case .sender:
            self.poller = nil
        }
    }

    deinit {
        close(flushTimeout: .zero)
    }

    /// See `KafkaHandle.waitForBrokers`: blocks until a broker answers or throws `.noBrokersAvailable`.
    package func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try handle.waitForBrokers(timeout: timeout)
    }

    /// Queues one record (librdkafka copies key, value and headers before returning). `partition` nil lets the
    /// partitioner hash the key; `timestampMs` nil stamps the current time.
    package func send(
        topic: String, key: UnsafeRawBufferPointer?, value: UnsafeRawBufferPointer?, partition: Int32? = nil, timestampMs: Int64? = nil,
        headers: [KafkaHeader] = [], tag: UInt64, whenQueueFull policy: QueueFullPolicy = .fail
    ) throws(KafkaError) {
        let clock = ContinuousClock()
        while true {
            let topicHandle = try openTopic(topic)
            guard let error = produce(topicHandle, key, value, partition, timestampMs, headers, tag) else { return }
            let failure = KafkaError(consuming: error, while: "producing to \(topic)")
            guard failure.isQueueFull, case .wait(let deadline) = policy else { throw failure }
            if let deadline, clock.now >= deadline {
                throw KafkaError(
                    code: failure.code,
                    message: failure.message + " (still full after waiting until the deadline)",
                    isRetriable: true
                )
            }
            waitForProgress(until: deadline)
        }
    }

    /// Queues `records` from `start` on, without waiting for room, with one topic lookup and none of `send`'s per-record
    /// set-up: the producing thread of `speedo ingest` spends most of its time here. Returns the position of the first
    /// record librdkafka refused, with why (`records.count` and nil when it took them all).
    package func send(
        topic: String, _ records: EncodedRecords, from start: Int
    ) -> (next: Int, refusal: KafkaError?) {
        let topicHandle: TopicHandle
        do { topicHandle = try openTopic(topic) } catch { return (start, error) }
        return withExtendedLifetime(topicHandle) {
            records.bytes.withUnsafeBytes { bytes in
                withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                    fields.initialize(repeating: rd_kafka_vu_t())
                    for (index, type) in [
                        RD_KAFKA_VTYPE_RKT, RD_KAFKA_VTYPE_MSGFLAGS, RD_KAFKA_VTYPE_OPAQUE, RD_KAFKA_VTYPE_KEY,
                        RD_KAFKA_VTYPE_VALUE, RD_KAFKA_VTYPE_PARTITION, RD_KAFKA_VTYPE_TIMESTAMP,
                    ].enumerated() {
                        fields[index].vtype = type
                    }
                    fields[0].u.rkt = topicHandle.pointer
                    fields[1].u.i = RD_KAFKA_MSG_F_COPY
                    let base = UnsafeMutableRawPointer(mutating: bytes.baseAddress)
                    for index in start..<records.count {
                        let record = records.records[index]
                        fields[2].u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(record.tag))
                        fields[3].u.mem = .init(ptr: base.map { $0 + record.start }, size: Int(record.keyLength))
                        fields[4].u.mem = .init(
                            ptr: base.map { $0 + record.start + Int(record.keyLength) }, size: Int(record.valueLength))
                        fields[5].u.i32 = record.partition
                        fields[6].u.i64 = record.timestampMs
                        if let error = rd_kafka_produceva(handle.pointer, fields.baseAddress, 7) {
                            return (index, KafkaError(consuming: error, while: "producing to \(topic)"))
                        }
                    }
                    return (records.count, nil)
                }
            }
        }
    }

    /// Convenience over the buffer-pointer `send` for callers that already hold arrays.
    package func send(
        topic: String, key: [UInt8]?, value: [UInt8]?, partition: Int32? = nil, timestampMs: Int64? = nil,
        headers: [KafkaHeader] = [], tag: UInt64, whenQueueFull policy: QueueFullPolicy = .fail
    ) throws(KafkaError) {
        let result: Result<Void, KafkaError> = withBytes(of: key) { keyBytes in
            withBytes(of: value) { valueBytes in
                Result { () throws(KafkaError) in
                    try send(topic: topic, key: keyBytes, value: valueBytes, partition: partition,
                             timestampMs: timestampMs, headers: headers, tag: tag, whenQueueFull: policy)
                }
            }
        }
        try result.get()
    }

    /// Sleeps until deliveries may have made room in the queue (at most 2 ms, never past `deadline`), for callers
    /// that retry a `.fail` send themselves because they must not block while holding a lock. With
    /// `ReportServing.sender` it serves the reports meanwhile.
    package func waitForProgress(until deadline: ContinuousClock.Instant?) {
        let slice = DeliveryContext.progressSlice(until: deadline)
        if poller == nil {
            rd_kafka_poll(handle.pointer, Int32(slice.clampedMilliseconds))
        } else {
            deliveries.waitForProgress(slice)
        }
    }

    /// With `ReportServing.sender`: serves the reports that arrived, without waiting. The sending thread calls it
    /// after each batch it sends, so that confirmations show (`outstandingCount`) and memory is given back.
    package func serveReports() {
        if poller == nil { rd_kafka_poll(handle.pointer, 0) }
    }

    /// The partitioner librdkafka applies to keyed records sent to `topic`, for callers that order records by the
    /// partition they will land in. `partitioner` is the value of librdkafka's `partitioner` property; nil when that
    /// partitioner ignores keys (`random`) or is unknown. Asks the cluster for the topic's partition count (which, like
    /// a first send, creates the topic on clusters that create topics on use); blocks the calling thread.
    package func keyPartitioner(
        topic: String, partitioner: String, timeout: Duration
    ) throws(KafkaError) -> KeyPartitioner? {
        guard let hash = KeyPartitioner.Hash(partitioner: partitioner) else { return nil }
        let topicHandle = try openTopic(topic)
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let err = rd_kafka_metadata(handle.pointer, 0, topicHandle.pointer, &metadata, timeout.clampedMilliseconds)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(err, while: "fetching the partitions of \(topic)")
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        guard metadata.pointee.topic_cnt == 1 else {
            throw KafkaError(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, while: "fetching the partitions of \(topic)")
        }
        let described = metadata.pointee.topics[0]
        if described.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(described.err, while: "fetching the partitions of \(topic)")
        }
        guard described.partition_cnt > 0 else { return nil }
        return KeyPartitioner(partitionCount: described.partition_cnt, hash: hash, topic: topicHandle)
    }

    /// Records queued or in flight whose delivery report has not been handled yet.
    package var outstandingCount: Int { Int(rd_kafka_outq_len(handle.pointer)) }

    /// Blocks until every queued record has been reported or `timeout` passes; returns how many are still outstanding.
    @discardableResult
    package func flush(timeout: Duration) -> Int {
        guard state.withLock({ $0.isOpen }) else { return outstandingCount }
        return waitForDeliveries(timeout: timeout)
    }

    /// Flushes up to `flushTimeout`, stops the poll thread, then purges what is left so that every record still
    /// gets exactly one report (a purge error). Returns the number of records that were not delivered in time.
    /// Later calls return 0 at once.
    @discardableResult
    package func close(flushTimeout: Duration = .seconds(10)) -> Int {
        let wasOpen = state.withLock { state in
            defer { state.isOpen = false }
            return state.isOpen
        }
        guard wasOpen else { return 0 }
        let undelivered = waitForDeliveries(timeout: flushTimeout)
        // rd_kafka_yield only cuts short a poll that is serving callbacks; a poll waiting for events (the usual case once
        // everything is delivered) sleeps out its 100 ms. Yielding the queue it waits on wakes it at once.
        poller?.stop {
            let mainQueue = rd_kafka_queue_get_main(handle.pointer)
            rd_kafka_queue_yield(mainQueue)
            rd_kafka_queue_destroy(mainQueue)
        }
        if undelivered > 0 {
            rd_kafka_purge(handle.pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
            rd_kafka_flush(handle.pointer, 1000)
        }
        return undelivered
    }

    private static let closedError = KafkaError(
        code: .closed, message: "cannot send: the Kafka producer is closed; create a new one")

    private func openTopic(_ name: String) throws(KafkaError) -> TopicHandle {
        let topic: Result<TopicHandle, KafkaError> = state.withLock { state in
            guard state.isOpen else { return .failure(Self.closedError) }
            if let last = state.lastTopic, last.name == name { return .success(last.handle) }
            if let known = state.topics[name] {
                state.lastTopic = (name, known)
                return .success(known)
            }
            guard let created = TopicHandle(handle, name: name) else {
                return .failure(KafkaError(rd_kafka_last_error(), while: "opening topic \(name) for producing"))
            }
            state.topics[name] = created
            state.lastTopic = (name, created)
            return .success(created)
        }
        return try topic.get()
    }

    private func waitForDeliveries(timeout: Duration) -> Int {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            let outstanding = outstandingCount
            if outstanding == 0 || clock.now >= deadline { return outstanding }
            waitForProgress(until: deadline)
        }
    }

    /// Returns librdkafka's error object (owned by the caller) or nil once the record is queued.
    private func produce(
        _ topic: TopicHandle,
        _ key: UnsafeRawBufferPointer?,
        _ value: UnsafeRawBufferPointer?,
        _ partition: Int32?,
        _ timestampMs: Int64?,
        _ headers: [KafkaHeader],
        _ tag: UInt64
    ) -> OpaquePointer? {
        let headerList = headers.isEmpty ? nil : Self.makeHeaderList(headers)
        let error = withExtendedLifetime(topic) {
            withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 8) { fields in
                var count = 0
                func append(_ type: rd_kafka_vtype_t, _ fill: (inout rd_kafka_vu_t) -> Void) {
                    var field = rd_kafka_vu_t()
                    field.vtype = type
                    fill(&field)
                    fields.initializeElement(at: count, to: field)
                    count += 1
                }
                append(RD_KAFKA_VTYPE_RKT) { $0.u.rkt = topic.pointer }
                append(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
                // The tag travels as the per-message opaque's bit pattern, so reports need no lookup table.
                append(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(tag)) }
                if let key {
                    append(RD_KAFKA_VTYPE_KEY) { $0.u.mem = .init(ptr: UnsafeMutableRawPointer(mutating: key.baseAddress), size: key.count) }
                }
                if let value {
                    append(RD_KAFKA_VTYPE_VALUE) { $0.u.mem = .init(ptr: UnsafeMutableRawPointer(mutating: value.baseAddress), size: value.count) }
                }
                if let partition { append(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
                if let timestampMs { append(RD_KAFKA_VTYPE_TIMESTAMP) { $0.u.i64 = timestampMs } }
                if let headerList { append(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headerList } }
                defer { fields.baseAddress!.deinitialize(count: count) }
                return rd_kafka_produceva(handle.pointer, fields.baseAddress, count)
            }
        }
        // On success the message owns the header list; on failure it is still ours.
        if error != nil, let headerList { rd_kafka_headers_destroy(headerList) }
        return error
    }

    private static func makeHeaderList(_ headers: [KafkaHeader]) -> OpaquePointer {
        let list = rd_kafka_headers_new(headers.count)!
        for header in headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(list, header.name, -1, bytes.baseAddress, bytes.count)
            }
        }
        return list
    }
}

/// librdkafka's own partition choice for a keyed record (see `KafkaProducer.keyPartitioner`).
package struct KeyPartitioner: Sendable {
    /// The hash of the key each of librdkafka's key-aware partitioners takes modulo the partition count (their
    /// `_random` variants differ only for records without a key).
    enum Hash {
        case crc32
        case murmur2
        case fnv1a

        init?(partitioner: String) {
            switch partitioner {
            case "consistent", "consistent_random": self = .crc32
            case "murmur2", "murmur2_random": self = .murmur2
            case "fnv1a", "fnv1a_random": self = .fnv1a
            default: return nil
            }
        }
    }

    package let partitionCount: Int32
    fileprivate let hash: Hash
    fileprivate let topic: TopicHandle

    /// The partition librdkafka will pick for a record with this (non-empty) key, while the topic keeps
    /// `partitionCount` partitions.
    package func partition(ofKey key: UnsafeRawBufferPointer) -> Int32 {
        switch hash {
        case .crc32: rd_kafka_msg_partitioner_consistent(topic.pointer, key.baseAddress, key.count, partitionCount, nil, nil)
        case .murmur2: rd_kafka_msg_partitioner_murmur2(topic.pointer, key.baseAddress, key.count, partitionCount, nil, nil)
        case .fnv1a: rd_kafka_msg_partitioner_fnv1a(topic.pointer, key.baseAddress, key.count, partitionCount, nil, nil)
        }
    }
}

/// Owns an `rd_kafka_topic_t`, and keeps its client alive because topics must be released before the client.
// @unchecked Sendable: librdkafka topic handles are thread-safe and the pointer never changes.
private final class TopicHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    private let client: KafkaHandle

    init?(_ client: KafkaHandle, name: String) {
        guard let pointer = rd_kafka_topic_new(client.pointer, name, nil) else { return nil }
        self.pointer = pointer
        self.client = client
    }

    deinit { rd_kafka_topic_destroy(pointer) }
}

private func withBytes<R>(of array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}

/// What the delivery callback needs: the caller's handler, and a condition that wakes senders waiting for room.
private final class DeliveryContext: Sendable {
    private let handler: @Sendable (DeliveryReport) -> Void
    private let reportsSuccesses: Bool
    private let progress = NSCondition()
    /// Topic names by librdkafka topic handle (which lives as long as the producer), so that reports do not decode
    /// the same C string for every record.
    private let topicNames = Mutex<(all: [UInt: String], last: (key: UInt, name: String)?)>(([:], nil))

    init(handler: @escaping @Sendable (DeliveryReport) -> Void, reportsSuccesses: Bool) {
        (self.handler, self.reportsSuccesses) = (handler, reportsSuccesses)
    }

    func report(_ pointer: UnsafePointer<rd_kafka_message_t>) {
        let message = pointer.pointee
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR && !reportsSuccesses { return }
        let error = message.err == RD_KAFKA_RESP_ERR_NO_ERROR
            ? nil
            : KafkaError(
                message.err, while: "delivering a record",
                inDoubt: rd_kafka_message_status(pointer) == RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED)
        handler(DeliveryReport(
            tag: UInt64(UInt(bitPattern: message._private)),
            topic: topicName(message.rkt),
            partition: message.partition,
            offset: error == nil ? message.offset : -1,
            error: error
        ))
    }

    private func topicName(_ topic: OpaquePointer) -> String {
        topicNames.withLock { names in
            let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(topic)))
            if let last = names.last, last.key == key { return last.name }
            let name = names.all[key] ?? String(cString: rd_kafka_topic_name(topic))
            names.all[key] = name
            names.last = (key, name)
            return name
        }
    }

    func signalProgress() {
        progress.lock()
        progress.broadcast()
        progress.unlock()
    }

    /// How long one wait for progress lasts: at most 2 ms and not past `deadline`. Short, because not all progress
    /// raises an event the waiter sees (a confirmed record whose report is not wanted just leaves the queue), so the
    /// caller has to look at the queue again; with 50 ms every `speedo ingest` ended up to 50 ms late and a full queue
    /// idled the reader.
    static func progressSlice(until deadline: ContinuousClock.Instant?) -> Duration {
        let slice = Duration.milliseconds(2)
        guard let deadline else { return slice }
        return max(.zero, min(slice, deadline - ContinuousClock.now))
    }

    /// Sleeps until the poll thread served events, or `slice` passed.
    func waitForProgress(_ slice: Duration) {
        progress.lock()
        _ = progress.wait(until: Date(timeIntervalSinceNow: slice.inSeconds))
        progress.unlock()
    }
}
