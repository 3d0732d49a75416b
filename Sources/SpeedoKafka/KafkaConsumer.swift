import CRdKafka
import SpeedoCore
import Synchronization

package struct ConsumedRecord: Sendable, Hashable {
    package var topic: String
    package var partition: Int32
    package var offset: Int64
    package var key: [UInt8]?
    /// nil for a tombstone (a deletion marker in a compacted topic).
    package var value: [UInt8]?
    /// nil when the record carries no timestamp.
    package var timestampMs: Int64?
    package var headers: [KafkaHeader]

    package init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?, timestampMs: Int64?,
        headers: [KafkaHeader]
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.headers = headers
    }
}

package enum ConsumerEvent: Sendable {
    case record(ConsumedRecord)
    /// The consumer has read everything up to `offset` (the high watermark) in this partition, for now.
    case endOfPartition(topic: String, partition: Int32, offset: Int64)
    case error(KafkaError)
}

/// A record read in place by `KafkaConsumer.poll(timeout:maximum:records:)`; `value` points into librdkafka's message and
/// must not be kept beyond the call that receives it.
package struct RecordView {
    package var partition: Int32
    package var offset: Int64
    /// nil when the record carries no timestamp.
    package var timestampMs: Int64?
    /// nil when the record has no key.
    package var key: UnsafeRawBufferPointer?
    /// nil for a tombstone.
    package var value: UnsafeRawBufferPointer?
}

/// What one `KafkaConsumer.poll(timeout:maximum:records:)` took.
package struct PolledBatch: Sendable {
    /// Records handed to the closure.
    package var records = 0
    /// Ends of partitions and errors, in the order they came.
    package var events: [ConsumerEvent] = []

    /// Nothing arrived within the timeout.
    package var isEmpty: Bool { records == 0 && events.isEmpty }
}

/// A Kafka consumer (group member with `subscribe`, or manual with `assign`).
///
/// Threading: `poll`, `commit`, `seek`, `watermarks`, `offsets(forTimestampMs:…)`, `subscribe`/`assign` and `close`
/// block the calling thread (run them on a dedicated thread, not on the Swift concurrency pool). Poll from one thread
/// at a time. Rebalances are announced inside `poll` (kept as values with `buffersRebalances`, else applied by
/// librdkafka itself).
package final class KafkaConsumer: Sendable {
    private enum Lifecycle { case open, closed }

    /// For this module's loops (the startup wait: `KafkaHandle.connect`).
    let handle: KafkaHandle
    private let configuration: KafkaConfiguration
    private let lifecycle = Mutex(Lifecycle.open)
    /// Set when rebalances are buffered as values (`buffersRebalances`).
    private let rebalances: RebalanceBuffer?

    /// - Parameters:
    ///   - groupID: the consumer group; nil makes a private, never-committing group for manual `assign` only.
    ///   - autoCommit: `enable.auto.commit`; leave it off when offsets are stored elsewhere (exactly-once into PostgreSQL).
    ///   - reportEndOfPartition: emit `.endOfPartition` each time the consumer catches up with a partition.
    ///   - buffersRebalances: keep each assignment and revocation as a `Rebalance` value, for `takeRebalance()` after
    ///     `poll`, instead of letting librdkafka apply it; the group then waits until the caller applies it with
    ///     `complete(_:starts:)` (see `ConsumerLoop`). librdkafka's callback cannot capture context and runs inside
    ///     `poll`: as values, rebalances reach the caller in order with the records, and the caller acts on them with
    ///     nothing shared with a callback.
    package init(
        configuration: KafkaConfiguration,
        groupID: String?,
        autoCommit: Bool = false,
        reportEndOfPartition: Bool = true,
        buffersRebalances: Bool = false
    ) throws(KafkaError) {
        let conf = try configuration.makeConf(
            client: "consumer",
            defaults: [
                ("group.id", groupID ?? "speedo-private-\(UInt64.random(in: 0...UInt64.max))"),
                ("auto.offset.reset", "earliest"),
                ("enable.auto.commit", groupID != nil && autoCommit ? "true" : "false"),
                ("enable.partition.eof", reportEndOfPartition ? "true" : "false"),
            ]
        )
        let buffer = buffersRebalances ? RebalanceBuffer() : nil
        if buffer != nil {
            rd_kafka_conf_set_rebalance_cb(conf.pointer) { handle, err, partitions, opaque in
                guard let handle, let opaque else { return }
                Unmanaged<RebalanceBuffer>.fromOpaque(opaque).takeUnretainedValue().rebalance(handle, err, partitions)
            }
        }
        handle = try KafkaHandle(
            RD_KAFKA_CONSUMER, conf: conf, bootstrapServers: configuration.bootstrapServers, context: buffer)
        self.configuration = configuration
        rebalances = buffer
        // Routes errors and rebalances to the consumer queue so that `poll` sees them.
        rd_kafka_poll_set_consumer(handle.pointer)
    }

    deinit {
        close()
    }

    package func waitForBrokers(timeout: Duration) throws(KafkaError) {
        try handle.waitForBrokers(timeout: timeout)
    }

    /// The oldest rebalance announced during `poll` and not taken yet (with `buffersRebalances`), in the order they
    /// came: take them after every `poll`, before handling what it returned (they happened first), and apply each with
    /// `complete(_:starts:)`: the group waits for that.
    package func takeRebalance() -> Rebalance? {
        rebalances?.takeFirst()
    }

    /// Applies a rebalance taken with `takeRebalance()`: an assignment starts each partition at `starts[partition]`
    /// (absent: the group's committed offset, else `auto.offset.reset`); a revocation gives the partitions up.
    package func complete(_ rebalance: Rebalance, starts: [TopicPartition: Int64] = [:]) throws(KafkaError) {
        try rebalance.apply(to: handle.pointer, starts: starts)
    }

    /// Joins the group for these topics; partitions arrive during `poll` (see `buffersRebalances`).
    package func subscribe(topics: [String]) throws(KafkaError) {
        let list = PartitionList(topics.map { TopicPartition(topic: $0, partition: -1) }, offset: unsetOffset)
        try check(list.withList { rd_kafka_subscribe(handle.pointer, $0) }, "subscribing to \(topics.joined(separator: ", "))")
    }

    /// Reads exactly these partitions from these offsets (no group rebalancing); replaces any previous assignment.
    package func assign(_ positions: [TopicPartitionOffset]) throws(KafkaError) {
        try check(PartitionList(positions).withList { rd_kafka_assign(handle.pointer, $0) }, "assigning partitions")
    }

    /// Moves the read position of an assigned partition.
    package func seek(_ position: TopicPartitionOffset, timeout: Duration) throws(KafkaError) {
        let list = PartitionList([position])
        if let error = list.withList({ rd_kafka_seek_partitions(handle.pointer, $0, timeout.clampedMilliseconds) }) {
            throw KafkaError(consuming: error, while: "seeking \(position.topicPartition) to offset \(position.offset)")
        }
        if let failure = list.entries.first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
            throw KafkaError(failure.error, while: "seeking \(position.topicPartition) to offset \(position.offset)")
        }
    }

    /// Waits up to `timeout` for the next record, end of partition or error; nil when nothing arrived.
    package func poll(timeout: Duration) -> ConsumerEvent? {
        guard lifecycle.withLock({ $0 == .open }) else { return nil }
        guard let message = rd_kafka_consumer_poll(handle.pointer, timeout.clampedMilliseconds) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        return Self.event(from: message)
    }

    /// `poll` for bulk reads (`replay`, the time scan), without copying records out of librdkafka: takes up to
    /// `maximum` records and events already fetched in one call (waiting up to `timeout` only when none are), hands
    /// each record to `onRecord` as a `RecordView` (valid only during that call; topic name and headers are not read), and returns how many records it handed over and the other events (end of partition, errors) in order.
    /// For manually assigned consumers: per-record `poll` and the `ConsumedRecord` copies cost more than decoding.
    package func poll(
        timeout: Duration, maximum: Int, records onRecord: (RecordView) throws -> Void
    ) rethrows -> PolledBatch {
        guard lifecycle.withLock({ $0 == .open }), let queue = rd_kafka_queue_get_consumer(handle.pointer) else {
            return PolledBatch()
        }
        defer { rd_kafka_queue_destroy(queue) }
        return try withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<rd_kafka_message_t>?.self, capacity: maximum) {
            messages throws -> PolledBatch in
            // librdkafka's batch call waits until `maximum` arrive or the timeout passes, so it is only asked for
            // what is already there; an empty queue is waited on by one ordinary poll.
            var count = Int(rd_kafka_consume_batch_queue(queue, 0, messages.baseAddress, maximum))
            if count <= 0 {
                guard let message = rd_kafka_consumer_poll(handle.pointer, timeout.clampedMilliseconds) else {
                    return PolledBatch()
                }
                messages[0] = message
                count = 1
            }
            defer { for index in 0..<count { rd_kafka_message_destroy(messages[index]) } }
            var batch = PolledBatch()
            for index in 0..<count {
                guard let message = messages[index] else { continue }
                guard message.pointee.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    batch.events.append(Self.event(from: message))
                    continue
                }
                var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
                let timestamp = rd_kafka_message_timestamp(message, &timestampType)
                try onRecord(RecordView(
                    partition: message.pointee.partition,
                    offset: message.pointee.offset,
                    timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
                    key: message.pointee.key.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len) },
                    value: message.pointee.payload.map { UnsafeRawBufferPointer(start: $0, count: message.pointee.len) }))
                batch.records += 1
            }
            return batch
        }
    }

    /// Commits synchronously; each offset is the next one to read (last processed + 1).
    package func commit(offsets: [TopicPartitionOffset]) throws(KafkaError) {
        let list = PartitionList(offsets)
        try check(list.withList { rd_kafka_commit(handle.pointer, $0, 0) }, "committing offsets")
        if let failure = list.entries.first(where: { $0.error != RD_KAFKA_RESP_ERR_NO_ERROR }) {
            throw KafkaError(failure.error, while: "committing the offset of \(failure.position.topicPartition)")
        }
    }

    package var bootstrapServers: String { handle.bootstrapServers }

    /// Every topic of the cluster (see `KafkaHandle.metadata`).
    package func metadata(timeout: Duration) throws(KafkaError) -> ClusterMetadata {
        try handle.metadata(timeout: timeout)
    }

    package func watermarks(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> Watermarks {
        try handle.watermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// Watermarks of every partition of `topic`, keyed by partition id.
    package func watermarks(topic: String, timeout: Duration) throws(KafkaError) -> [Int32: Watermarks] {
        try handle.watermarks(topic: topic, timeout: timeout)
    }

    /// The high watermark of an assigned partition as last seen in a fetch response, without asking the brokers
    /// (so it never blocks); nil before the first fetch.
    package func lastKnownHighWatermark(topic: String, partition: Int32) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let err = rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high)
        return err == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? high : nil
    }

    /// For each partition, the offset to start reading from to see every record with timestamp ≥ `timestampMs`:
    /// the first such record's offset, or the high watermark when there is none.
    ///
    /// Asks the brokers first (ListOffsets by time). A broker answers -1 both for "no record at or after T" and, in
    /// librdkafka's mock cluster, always (it cannot look up by time), so for a non-empty partition answered -1 this
    /// scans from the low watermark with a temporary private consumer and filters by record timestamp.
    package func offsets(
        forTimestampMs timestampMs: Int64,
        topic: String,
        partitions: [Int32],
        timeout: Duration = .seconds(10)
    ) throws(KafkaError) -> [Int32: Int64] {
        let deadline = ContinuousClock.now + timeout
        let query = PartitionList(partitions.map { TopicPartitionOffset(topic: topic, partition: $0, offset: timestampMs) })
        try check(
            query.withList { rd_kafka_offsets_for_times(handle.pointer, $0, timeout.clampedMilliseconds) },
            "looking up offsets of \(topic) by time")
        var result: [Int32: Int64] = [:]
        var toScan: [Int32: Watermarks] = [:]
        for (position, error) in query.entries {
            if error == RD_KAFKA_RESP_ERR_NO_ERROR && position.offset >= 0 {
                result[position.partition] = position.offset
                continue
            }
            let marks = try handle.watermarks(
                topic: topic, partition: position.partition, timeout: max(deadline - .now, .milliseconds(1)))
            if marks.isEmpty { result[position.partition] = marks.high } else { toScan[position.partition] = marks }
        }
        if !toScan.isEmpty {
            for (partition, offset) in try scan(topic: topic, from: toScan, forTimestampMs: timestampMs, deadline: deadline) {
                result[partition] = offset
            }
        }
        return result
    }

    /// Leaves the group cleanly (buffered rebalances are applied as they come, unseen, since nobody takes them any
    /// more). Idempotent.
    package func close() {
        let wasOpen = lifecycle.withLock { state in
            defer { state = .closed }
            return state == .open
        }
        guard wasOpen else { return }
        // librdkafka lets the member leave only once the rebalances it announced were applied.
        rebalances?.applyFromNowOn(handle.pointer)
        _ = rd_kafka_consumer_close(handle.pointer)
    }

    private func scan(
        topic: String,
        from watermarks: [Int32: Watermarks],
        forTimestampMs timestampMs: Int64,
        deadline: ContinuousClock.Instant
    ) throws(KafkaError) -> [Int32: Int64] {
        let scanner = try KafkaConsumer(configuration: configuration, groupID: nil, reportEndOfPartition: true)
        defer { scanner.close() }
        try scanner.assign(watermarks.map { TopicPartitionOffset(topic: topic, partition: $0.key, offset: $0.value.low) })
        var found: [Int32: Int64] = [:]
        while found.count < watermarks.count {
            guard ContinuousClock.now < deadline else {
                throw KafkaError(
                    code: .timedOut,
                    message: "scanning \(topic) for the first record at or after \(timestampMs) ms did not finish in time; "
                        + "retry with a longer timeout",
                    isRetriable: true)
            }
            let polled = scanner.poll(timeout: .milliseconds(100), maximum: 10_000) { record in
                guard found[record.partition] == nil else { return }
                let high = watermarks[record.partition]?.high ?? 0
                if let stamp = record.timestampMs, stamp >= timestampMs {
                    found[record.partition] = record.offset
                } else if record.offset + 1 >= high {
                    found[record.partition] = high
                }
            }
            for event in polled.events {
                switch event {
                case .endOfPartition(_, let partition, let offset) where found[partition] == nil:
                    found[partition] = offset
                case .error(let error) where error.isFatal || !error.isRetriable:
                    throw error
                default:
                    continue
                }
            }
        }
        return found
    }

    private func check(_ err: rd_kafka_resp_err_t, _ action: String) throws(KafkaError) {
        if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, while: action) }
    }

    private static func event(from message: UnsafeMutablePointer<rd_kafka_message_t>) -> ConsumerEvent {
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        switch message.pointee.err {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
            let timestamp = rd_kafka_message_timestamp(message, &timestampType)
            return .record(ConsumedRecord(
                topic: topic,
                partition: message.pointee.partition,
                offset: message.pointee.offset,
                key: bytes(message.pointee.key, message.pointee.key_len),
                value: bytes(message.pointee.payload, message.pointee.len),
                timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp,
                headers: headers(of: message)
            ))
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
            return .endOfPartition(topic: topic, partition: message.pointee.partition, offset: message.pointee.offset)
        case let err:
            let detail = message.pointee.payload.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: message.pointee.len), as: UTF8.self)
            }
            let base = KafkaError(err, while: topic.isEmpty ? "consuming" : "consuming from \(topic)[\(message.pointee.partition)]")
            return .error(detail.map {
                KafkaError(code: base.code, message: base.message + " (\($0))", isRetriable: base.isRetriable, isFatal: base.isFatal)
            } ?? base)
        }
    }

    private static func bytes(_ pointer: UnsafeRawPointer?, _ count: Int) -> [UInt8]? {
        pointer.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) }
    }

    private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var list: OpaquePointer?
        guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
        var result: [KafkaHeader] = []
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            result.append(KafkaHeader(name: name.map { String(cString: $0) } ?? "", value: bytes(value, size) ?? []))
            index += 1
        }
        return result
    }
}

/// "No explicit offset": librdkafka then uses the committed offset, else `auto.offset.reset`.
let unsetOffset = Int64(RD_KAFKA_OFFSET_INVALID)

/// A change of a group member's partitions, as librdkafka announced it inside `poll`, kept as a value until it is
/// applied with `KafkaConsumer.complete(_:starts:)`.
package struct Rebalance: Sendable, Hashable {
    package enum Kind: Sendable, Hashable {
        case assign
        /// Also a rebalance error: librdkafka then wants the whole assignment given up.
        case revoke
    }

    package var kind: Kind
    package var partitions: [TopicPartition]
    /// The cooperative protocol changes only `partitions`; the eager one replaces the whole assignment.
    package var isIncremental: Bool

    fileprivate func apply(to handle: OpaquePointer, starts: [TopicPartition: Int64]) throws(KafkaError) {
        let action = kind == .assign ? "assigning partitions" : "giving partitions up"
        let list = PartitionList(partitions.map { partition in
            TopicPartitionOffset(topic: partition.topic, partition: partition.partition, offset: starts[partition] ?? unsetOffset)
        })
        switch (kind, isIncremental) {
        case (.assign, true):
            if let error = list.withList({ rd_kafka_incremental_assign(handle, $0) }) {
                throw KafkaError(consuming: error, while: action)
            }
        case (.revoke, true):
            if let error = list.withList({ rd_kafka_incremental_unassign(handle, $0) }) {
                throw KafkaError(consuming: error, while: action)
            }
        case (.assign, false):
            let err = list.withList { rd_kafka_assign(handle, $0) }
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, while: action) }
        case (.revoke, false):
            let err = rd_kafka_assign(handle, nil)
            if err != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(err, while: action) }
        }
    }
}

/// Rebalances announced by librdkafka's callback (inside `poll`, on the polling thread), kept in order until the
/// polling thread takes them; once the consumer closes, each applies itself at once instead.
private final class RebalanceBuffer: Sendable {
    private struct State {
        var pending: [Rebalance] = []
        var appliesItself = false
    }

    private let state = Mutex(State())

    func rebalance(
        _ handle: OpaquePointer, _ err: rd_kafka_resp_err_t, _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        let rebalance = Rebalance(
            kind: err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? .assign : .revoke,
            partitions: PartitionList.entries(of: partitions).map(\.position.topicPartition),
            // NULL once the member has left the group (the final revocation inside close).
            isIncremental: rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE")
        let appliesItself = state.withLock { state in
            if !state.appliesItself { state.pending.append(rebalance) }
            return state.appliesItself
        }
        // Closing: nobody takes it, and librdkafka waits for it. Nothing to report if it fails: the member is leaving.
        if appliesItself { try? rebalance.apply(to: handle, starts: [:]) }
    }

    func takeFirst() -> Rebalance? {
        state.withLock { $0.pending.isEmpty ? nil : $0.pending.removeFirst() }
    }

    /// Applies what is still pending (librdkafka waits for it before it lets the member leave), and every later
    /// rebalance as it comes.
    func applyFromNowOn(_ handle: OpaquePointer) {
        let pending = state.withLock { state in
            state.appliesItself = true
            defer { state.pending.removeAll() }
            return state.pending
        }
        for rebalance in pending { try? rebalance.apply(to: handle, starts: [:]) }
    }
}
