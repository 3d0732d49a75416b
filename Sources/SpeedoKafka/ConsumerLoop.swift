import CRdKafka
package import SpeedoRuntime

/// How a `ConsumerLoop` comes by its partitions.
package enum ConsumerMembership: Sendable, Hashable {
    /// A member of this consumer group: the group assigns partitions and takes them away (rebalances), and offsets
    /// can be committed to it.
    case group(String)
    /// Every partition the topic has when the loop connects, with no group: nothing is committed.
    case everyPartition

    var groupID: String? {
        if case .group(let id) = self { id } else { nil }
    }
}

/// Where a newly assigned partition starts, as a pump answers `ConsumerPump.assigned`.
package enum PartitionStart: Sendable, Hashable {
    /// The group's committed offset, else `auto.offset.reset` (earliest, unless -X says otherwise).
    case committed
    /// The earliest record the brokers still hold.
    case beginning
    /// Only what arrives from now on.
    case end
    /// An offset the pump keeps durable itself (stored in PostgreSQL with the rows): it counts as committed.
    case stored(Int64)

    var offset: Int64? {
        switch self {
        case .committed: nil
        case .beginning: TopicPartitionOffset.earliest
        case .end: TopicPartitionOffset.latest
        case .stored(let offset): offset
        }
    }
}

/// What the loop says on the way, for stderr.
package enum ConsumerLoopNotice: Sendable, Equatable, CustomStringConvertible {
    /// No broker answered yet at startup; the loop goes on trying until the connect timeout.
    case waitingForBrokers(BrokerWaitNotice)
    /// A problem librdkafka keeps retrying by itself, said once until another one comes.
    case brokerTrouble(KafkaError)

    package var description: String {
        switch self {
        case .waitingForBrokers(let notice): notice.description
        case .brokerTrouble(let error): "Kafka: \(error.message) (retrying)"
        }
    }
}

/// What one consume command does with the records of a topic (write them to PostgreSQL, fold them into latest
/// states, print them); `ConsumerLoop.run` drives it, from one thread, in the order things happened: assignments,
/// records (each once, in offset order per partition), partition ends and revocations.
///
/// Only `Outcome`, `assigned`, `revoked`, `handle` and `stopRequested` have no default.
package protocol ConsumerPump {
    /// How a run ends when the pump ends it (failures are thrown).
    associatedtype Outcome

    /// How long the next poll may wait for a record (default 100 ms): less when the pump has work due sooner.
    var pollTimeout: Duration { get }
    /// Whether to take another record that is already waiting, in this turn (default yes; a turn takes at most
    /// `ConsumerLoop.turnLimit`).
    var wantsMoreRecords: Bool { get }
    /// How often `commit` is called (default 1 s).
    var commitInterval: Duration { get }

    /// A broker answered and the topic is about to be read (e.g. create output topics here).
    mutating func connected(_ loop: ConsumerLoop) throws
    /// These partitions of the topic are this member's now, before anything is read from them (possibly none: a
    /// rebalance that left this member without partitions). Returns where any of them start; those left out start at
    /// `PartitionStart.committed`.
    mutating func assigned(_ partitions: [Int32], _ loop: ConsumerLoop) throws -> [Int32: PartitionStart]
    /// These partitions are being taken away, and stay this member's until this returns: finish and persist their
    /// work (commit) here. Also when the run ends, for everything still assigned.
    mutating func revoked(_ partitions: [Int32], _ loop: ConsumerLoop) throws
    /// The next record of an assigned partition. `loop.positions[record.partition]` still holds where the partition
    /// stood before it.
    mutating func handle(_ record: ConsumedRecord, _ loop: ConsumerLoop) throws
    /// The partition has nothing after `offset` for now; `next` is where it stood before (nil: no record seen, no
    /// start known). Offsets between them no longer exist (compaction, transaction markers, retention).
    mutating func reachedEnd(of partition: Int32, at offset: Int64, next: Int64?, _ loop: ConsumerLoop) throws
    /// Before each turn of polling.
    mutating func turnStarting(_ loop: ConsumerLoop) throws
    /// After each turn of polling: the pump's own work (store a batch, publish due states, write lines). An
    /// outcome ends the run.
    mutating func turnEnded(_ loop: ConsumerLoop) throws -> Outcome?
    /// Every `commitInterval`: commit what is done (`loop.commit`).
    mutating func commit(_ loop: ConsumerLoop) throws
    /// Every assigned partition was read to its end (checked before each turn). An outcome ends the run (exit at
    /// the end); nil goes on.
    mutating func caughtUp(_ loop: ConsumerLoop) throws -> Outcome?
    /// The run was asked to stop (a signal), checked before each turn and while waiting for the brokers.
    mutating func stopRequested(_ loop: ConsumerLoop) throws -> Outcome
}

extension ConsumerPump {
    package var pollTimeout: Duration { .milliseconds(100) }
    package var wantsMoreRecords: Bool { true }
    package var commitInterval: Duration { .seconds(1) }
    package mutating func connected(_ loop: ConsumerLoop) throws {}
    package mutating func reachedEnd(of partition: Int32, at offset: Int64, next: Int64?, _ loop: ConsumerLoop) throws {}
    package mutating func turnStarting(_ loop: ConsumerLoop) throws {}
    package mutating func turnEnded(_ loop: ConsumerLoop) throws -> Outcome? { nil }
    package mutating func commit(_ loop: ConsumerLoop) throws {}
    package mutating func caughtUp(_ loop: ConsumerLoop) throws -> Outcome? { nil }
}

/// The consumer loop every consume command shares: owns the `KafkaConsumer`, waits for the brokers up to the connect
/// timeout, joins the group (or takes every partition), polls, and hands a `ConsumerPump` what happened, in order.
///
/// Rebalances: librdkafka announces them inside `poll`; the consumer keeps them as values (`Rebalance`) instead of
/// acting on them there, and the loop takes them after each poll, before the record that poll returned (they
/// happened first). An assignment is applied only once the pump said where its partitions start; a revocation only
/// once the pump finished with them (librdkafka's group waits for both). Records of partitions no longer assigned
/// are dropped, so a pump never sees a record of a partition it was not assigned or was revoked.
///
/// The loop also keeps each partition's position (`positions`: what "caught up" means for every pump), and says a
/// broker problem librdkafka keeps retrying once until another one comes.
///
/// Threading: not Sendable. `run` blocks the thread that calls it for the whole run (librdkafka's calls block):
/// create the loop and run it on a dedicated thread, not on the Swift concurrency pool. The pump is called on that
/// thread only.
package final class ConsumerLoop {
    package let topic: String
    package let membership: ConsumerMembership
    /// Where each assigned partition stands.
    package private(set) var positions = PartitionPositions()

    private let consumer: KafkaConsumer
    private let connectTimeout: Duration
    private let notify: (ConsumerLoopNotice) -> Void
    private let heartbeat: Heartbeat?
    private var lastTrouble: String?

    /// Records (and ends of partitions, errors) taken in one turn at most, however many are waiting.
    package static let turnLimit = 10_000

    /// - Parameters:
    ///   - connectTimeout: how long to keep trying when no broker answers at startup (`--connect-timeout`).
    ///   - heartbeat: beaten on every turn and every attempt to reach the brokers.
    ///   - notices: what to say on stderr; called on the running thread.
    /// - Throws: a configuration librdkafka rejects.
    package init(
        configuration: KafkaConfiguration,
        topic: String,
        membership: ConsumerMembership,
        connectTimeout: Duration,
        heartbeat: Heartbeat? = nil,
        notices: @escaping (ConsumerLoopNotice) -> Void
    ) throws(KafkaError) {
        consumer = try KafkaConsumer(
            configuration: configuration, groupID: membership.groupID, autoCommit: false, reportEndOfPartition: true,
            buffersRebalances: membership.groupID != nil)
        self.topic = topic
        self.membership = membership
        self.connectTimeout = connectTimeout
        self.heartbeat = heartbeat
        notify = notices
    }

    deinit {
        consumer.close()
    }

    /// Connects, joins, and feeds `pump` until it returns an outcome or something fails. Before returning (also when
    /// failing), everything still assigned is revoked through the pump (its failures then are not reported over the
    /// first one) and the consumer leaves the group. `stopRequested` is asked before each turn and while waiting for
    /// the brokers (a signal).
    package func run<Pump: ConsumerPump>(_ pump: inout Pump, until stopRequested: () -> Bool) throws -> Pump.Outcome {
        defer { consumer.close() }
        let connection = try consumer.handle.connect(within: connectTimeout) { notice in
            heartbeat?.beat()
            notify(.waitingForBrokers(notice))
            return !stopRequested()
        }
        guard connection == .connected else { return try pump.stopRequested(self) }
        let outcome: Pump.Outcome
        do {
            try pump.connected(self)
            try join(&pump)
            outcome = try turns(&pump, until: stopRequested)
        } catch {
            try? leave(&pump)
            throw error
        }
        try leave(&pump)
        return outcome
    }

    /// Every assigned partition reported its end, and nothing newer is known (see `PartitionPositions`).
    package var isCaughtUp: Bool { positions.isCaughtUp(consumer, topic: topic) }

    /// Commits `offsets` (per partition, the next offset to read) to the group, leaving out those already committed
    /// (unless `evenIfUnchanged`), and records them as committed. Only with `.group`.
    package func commit(_ offsets: [Int32: Int64], evenIfUnchanged: Bool = false) throws(KafkaError) {
        let changed = offsets.filter { evenIfUnchanged || positions[$0.key]?.committed != $0.value }
        guard !changed.isEmpty, membership.groupID != nil else { return }
        try consumer.commit(offsets: changed.keys.sorted().map {
            TopicPartitionOffset(topic: topic, partition: $0, offset: changed[$0]!)
        })
        for (partition, offset) in changed { positions.committed(partition, offset: offset) }
    }

    /// The pump made everything before `offset` durable itself (stored with the rows in PostgreSQL).
    package func stored(_ partition: Int32, upTo offset: Int64) {
        positions.committed(partition, offset: offset)
    }

    /// Reads `partition` again from `start` (e.g. the offset stored with the rows, after a batch was given up);
    /// its position starts over there.
    package func seek(_ partition: Int32, to start: PartitionStart, timeout: Duration) throws(KafkaError) {
        let offset = start.offset ?? TopicPartitionOffset.earliest
        try consumer.seek(TopicPartitionOffset(topic: topic, partition: partition, offset: offset), timeout: timeout)
        track(partition, from: start)
    }

    /// Asks the brokers (blocks up to `timeout`).
    package func watermarks(of partition: Int32, timeout: Duration) throws(KafkaError) -> Watermarks {
        try consumer.watermarks(topic: topic, partition: partition, timeout: timeout)
    }

    /// The value the consumer runs with for a librdkafka property, for saying which settings are in effect.
    package func effectiveProperty(_ key: String) -> String? {
        consumer.handle.effectiveProperty(key)
    }

    /// Per assigned partition, the records not committed (for the history: not stored) yet; nil before its high
    /// watermark is known.
    package func lags() -> [(partition: Int32, lag: Int64?)] {
        positions.ids.compactMap { id in
            guard let state = positions[id] else { return nil }
            let high = lastKnownHighWatermark(of: id) ?? state.end
            return (id, high.map { max(0, $0 - (state.committed ?? 0)) })
        }
    }

    /// As last seen in a fetch response (never blocks); nil before the first.
    package func lastKnownHighWatermark(of partition: Int32) -> Int64? {
        consumer.lastKnownHighWatermark(topic: topic, partition: partition)
    }

    // MARK: - The loop

    private func join<Pump: ConsumerPump>(_ pump: inout Pump) throws {
        switch membership {
        case .group:
            try consumer.subscribe(topics: [topic])
        case .everyPartition:
            let described = try consumer.metadata(timeout: .seconds(10)).topic(named: topic)
            guard let described, described.error == nil, !described.partitions.isEmpty else {
                throw KafkaError(
                    code: .librdkafka(RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC.rawValue),
                    message: "topic \(topic) does not exist at \(consumer.bootstrapServers); check -t/--topic "
                        + "(`speedo ingest` or `speedo simulate` creates it)")
            }
            let partitions = described.partitions.map(\.id)
            let starts = try pump.assigned(partitions, self)
            try consumer.assign(partitions.map { partition in
                TopicPartitionOffset(
                    topic: topic, partition: partition, offset: starts[partition]?.offset ?? unsetOffset)
            })
            for partition in partitions { track(partition, from: starts[partition] ?? .committed) }
        }
    }

    private func turns<Pump: ConsumerPump>(_ pump: inout Pump, until stopRequested: () -> Bool) throws -> Pump.Outcome {
        var nextCommit = ContinuousClock.now + pump.commitInterval
        while true {
            heartbeat?.beat()
            if stopRequested() { return try pump.stopRequested(self) }
            if isCaughtUp, let outcome = try pump.caughtUp(self) { return outcome }
            try pump.turnStarting(self)
            try turn(&pump)
            if let outcome = try pump.turnEnded(self) { return outcome }
            if ContinuousClock.now >= nextCommit {
                try pump.commit(self)
                nextCommit = ContinuousClock.now + pump.commitInterval
            }
        }
    }

    /// One poll that may wait, then whatever is already waiting, up to `turnLimit` or until the pump has enough.
    private func turn<Pump: ConsumerPump>(_ pump: inout Pump) throws {
        var event = consumer.poll(timeout: pump.pollTimeout)
        var taken = 0
        while true {
            try deliverRebalances(to: &pump)
            guard let current = event else { return }
            try deliver(current, to: &pump)
            taken += 1
            guard taken < Self.turnLimit, pump.wantsMoreRecords else { return }
            event = consumer.poll(timeout: .zero)
        }
    }

    private func deliver<Pump: ConsumerPump>(_ event: ConsumerEvent, to pump: inout Pump) throws {
        switch event {
        case .record(let record):
            // Skipped: from a partition no longer assigned, or from before a seek back.
            guard record.topic == topic, let position = positions[record.partition],
                record.offset >= position.next ?? 0
            else { return }
            try pump.handle(record, self)
            positions.processed(record.partition, offset: record.offset)
        case .endOfPartition(let eventTopic, let partition, let offset):
            guard eventTopic == topic, let position = positions[partition] else { return }
            try pump.reachedEnd(of: partition, at: offset, next: position.next, self)
            _ = positions.reachedEnd(partition, offset: offset)
        case .error(let error):
            if error.isFatal { throw error }
            if error.message != lastTrouble {
                notify(.brokerTrouble(error))
                lastTrouble = error.message
            }
        }
    }

    /// Hands the pump each rebalance announced so far, in order, and applies it once the pump is done with it (also
    /// when the pump failed: librdkafka's group waits for it).
    private func deliverRebalances<Pump: ConsumerPump>(to pump: inout Pump) throws {
        while let rebalance = consumer.takeRebalance() {
            let ours = rebalance.partitions.filter { $0.topic == topic }.map(\.partition)
            var failure: (any Error)?
            switch rebalance.kind {
            case .assign:
                var starts: [Int32: PartitionStart] = [:]
                do { starts = try pump.assigned(ours, self) } catch { failure = error }
                var offsets: [TopicPartition: Int64] = [:]
                for (partition, start) in starts {
                    offsets[TopicPartition(topic: topic, partition: partition)] = start.offset
                }
                try consumer.complete(rebalance, starts: offsets)
                for partition in ours { track(partition, from: starts[partition] ?? .committed) }
            case .revoke:
                do { try pump.revoked(ours, self) } catch { failure = error }
                for partition in ours { positions.forget(partition) }
                try consumer.complete(rebalance)
            }
            if let failure { throw failure }
        }
    }

    /// The end of a run: rebalances not delivered yet first (so the pump is revoked exactly what it was assigned),
    /// then everything still assigned.
    private func leave<Pump: ConsumerPump>(_ pump: inout Pump) throws {
        var failure: (any Error)?
        do { try deliverRebalances(to: &pump) } catch { failure = error }
        let held = positions.ids
        if !held.isEmpty {
            do { try pump.revoked(held, self) } catch { failure = failure ?? error }
            for partition in held { positions.forget(partition) }
        }
        consumer.close()
        if let failure { throw failure }
    }

    private func track(_ partition: Int32, from start: PartitionStart) {
        if case .stored(let offset) = start {
            positions.track(partition, next: offset, committed: offset)
        } else {
            positions.track(partition)
        }
    }
}
