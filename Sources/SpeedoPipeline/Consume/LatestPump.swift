import Foundation
import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import Synchronization

/// What `speedo consume latest` was asked to do.
package struct LatestPumpSettings {
    package var kafka: KafkaConfiguration
    package var topic: String
    package var group: String
    package var windowSeconds: Int
    /// The shortest time between two records of one sensor (1 / --max-rate).
    package var emissionInterval: Duration
    package var exitAtEnd: Bool
    package var stop: StopRequest

    package init(
        kafka: KafkaConfiguration,
        topic: String,
        group: String,
        windowSeconds: Int,
        emissionInterval: Duration,
        exitAtEnd: Bool,
        stop: StopRequest
    ) {
        self.kafka = kafka
        self.topic = topic
        self.group = group
        self.windowSeconds = windowSeconds
        self.emissionInterval = emissionInterval
        self.exitAtEnd = exitAtEnd
        self.stop = stop
    }
}

package enum LatestPumpOutcome {
    /// `--exit-at-end`: every assigned partition was read to its end, and every state published and committed.
    case reachedEnd
    /// SIGINT/SIGTERM, after publishing what was pending and committing what was acknowledged.
    case stopped
}

/// The loop of `speedo consume latest`: folds each sensor's readings into its `RollingStats`, and publishes its
/// `LatestState` to `speed-latest` through a `CoalescingRateLimiter` (a 10 ms tick emits states that became due).
///
/// Offsets: a partition's offset is committed only up to the first record whose effect is not yet acknowledged by
/// the brokers: a state still held back by the rate limit, a state in flight, or a dead letter not yet sent.
/// After a crash the records after the commit are read again: at least once, harmless for a compacted topic whose
/// newest record per key wins. The statistics live only in memory: after a restart, the first window's cover only
/// what was read since (the group's committed offsets are usually recent).
///
/// Threading: `run` blocks its thread for the whole run; librdkafka calls the rebalance handler from inside `poll`
/// (or `close`) on that same thread, and the delivery handler on the producer's poll thread, which only appends
/// to `acknowledgements`.
// @unchecked Sendable: the rebalance closures must be @Sendable, but they run only inside `consumer.poll`/`close`,
// which `run` calls from its own thread; every mutable property is touched from that thread alone (the delivery
// handler touches only the Mutex-guarded `acknowledgements`).
package final class LatestPump: @unchecked Sendable {
    private struct Sensor {
        var statistics: RollingStats
        var newest: Reading?
        var partition: Int32
        /// The first record folded into the state held back by the rate limit, if one is held back.
        var firstUnpublished: Int64?
    }

    /// A published state until the brokers acknowledge it: which records it covers, from where.
    private struct InFlight {
        var partition: Int32
        var firstOffset: Int64
    }

    private let settings: LatestPumpSettings
    private let latestTopic = ConnectionSettings.latestTopic
    private let producer: KafkaProducer
    private let deadLetters: DeadLetterSender
    private let acknowledgements: Acknowledgements
    private var partitions = PartitionPositions()
    private var sensors: [String: Sensor] = [:]
    private var limiter: CoalescingRateLimiter<LatestState>
    private var inFlight: [UInt64: InFlight] = [:]
    private var nextTag: UInt64 = 0
    private var unsentDeadLetters: [DeadLetter] = []
    private let started = ContinuousClock.now
    private var counts = (readings: 0, published: 0, deadLetters: 0)
    /// A failure inside the rebalance handler, which cannot throw: raised by the loop right after `poll`.
    private var handlerFailure: (any Error)?
    private var lastKafkaError: String?
    /// Set by `run`, for the rebalance handler.
    private var consumer: KafkaConsumer?

    private static let tick = Duration.milliseconds(10)
    private static let commitInterval = Duration.seconds(1)

    package init(settings: LatestPumpSettings) throws(KafkaError) {
        self.settings = settings
        limiter = CoalescingRateLimiter(interval: settings.emissionInterval)
        let acknowledgements = Acknowledgements()
        self.acknowledgements = acknowledgements
        producer = try KafkaProducer(configuration: settings.kafka) { acknowledgements.record($0) }
        deadLetters = try DeadLetterSender(configuration: settings.kafka, sourceTopic: settings.topic)
    }

    package func run() throws -> LatestPumpOutcome {
        defer {
            producer.close()
            deadLetters.close()
        }
        let consumer = try KafkaConsumer(
            configuration: settings.kafka, groupID: settings.group, autoCommit: false, reportEndOfPartition: true,
            rebalance: RebalanceHandler(
                onAssign: { [unowned self] in assign($0) },
                onRevoke: { [unowned self] in revoke($0) }))
        self.consumer = consumer
        defer {
            consumer.close()
            self.consumer = nil
        }
        try waitForBrokers(consumer)
        try prepareLatestTopic()
        try consumer.subscribe(topics: [settings.topic])
        Terminal.note("speedo: consume latest: reading \(settings.topic) as group \(settings.group) into \(latestTopic)")
        let outcome = try pump(consumer)
        // Before the final revocation forgets them.
        let sensorCount = sensors.count
        consumer.close()
        if let failure = handlerFailure { throw failure }
        Terminal.note(
            "speedo: consume latest: \(grouped(counts.readings)) readings of \(grouped(sensorCount)) sensors, "
                + "\(grouped(counts.published)) states published to \(latestTopic), \(grouped(counts.deadLetters)) "
                + "records sent to \(deadLetters.topic)")
        return outcome
    }

    private func pump(_ consumer: KafkaConsumer) throws -> LatestPumpOutcome {
        var nextCommit = ContinuousClock.now + Self.commitInterval
        while true {
            if settings.stop.isRequested {
                try settle()
                commit(consumer, partitions: partitions.ids)
                return .stopped
            }
            if settings.exitAtEnd, isCaughtUp(consumer), limiter.pendingCount == 0 {
                try settle()
                if isCaughtUp(consumer) {
                    commit(consumer, partitions: partitions.ids)
                    return .reachedEnd
                }
            }
            if let event = consumer.poll(timeout: Self.tick) { try handle(event) }
            var drained = 0
            while drained < 10_000, let event = consumer.poll(timeout: .zero) {
                try handle(event)
                drained += 1
            }
            if let failure = handlerFailure { throw failure }
            for (_, state) in limiter.takeDue(now: elapsed) { try publish(state) }
            try absorbAcknowledgements()
            sendDeadLetters()
            if ContinuousClock.now >= nextCommit {
                commit(consumer, partitions: partitions.ids)
                nextCommit = ContinuousClock.now + Self.commitInterval
            }
        }
    }

    private var elapsed: Duration { ContinuousClock.now - started }

    private func isCaughtUp(_ consumer: KafkaConsumer) -> Bool {
        partitions.isCaughtUp(consumer, topic: settings.topic)
    }

    private func handle(_ event: ConsumerEvent) throws {
        switch event {
        case .record(let record):
            guard record.topic == settings.topic, partitions[record.partition] != nil else { return }
            switch record.verdict(now: Timestamp.current()) {
            case .valid(let reading): try fold(reading, from: record)
            case .invalid(let letter): unsentDeadLetters.append(letter)
            }
            partitions.processed(record.partition, offset: record.offset)
        case .endOfPartition(let topic, let partition, let offset):
            guard topic == settings.topic else { return }
            _ = partitions.reachedEnd(partition, offset: offset)
        case .error(let error):
            if error.isFatal { throw error }
            if error.message != lastKafkaError {
                Terminal.note("speedo: Kafka: \(error.message) (retrying)")
                lastKafkaError = error.message
            }
        }
    }

    /// Counts `reading` and offers the sensor's new state to the rate limit. The state shows the newest reading
    /// by event time: a late one only changes the statistics.
    private func fold(_ reading: Reading, from record: ConsumedRecord) throws {
        counts.readings += 1
        var sensor = sensors[reading.sensorID]
            ?? Sensor(statistics: RollingStats(windowSeconds: settings.windowSeconds), partition: record.partition)
        sensor.statistics.add(speed: reading.speed, at: reading.timestamp)
        if sensor.newest.map({ reading.timestamp >= $0.timestamp }) ?? true { sensor.newest = reading }
        sensor.partition = record.partition
        sensor.firstUnpublished = min(sensor.firstUnpublished ?? record.offset, record.offset)
        sensors[reading.sensorID] = sensor
        guard let newest = sensor.newest, let summary = sensor.statistics.summary else { return }
        let state = LatestState(reading: newest, windowSeconds: settings.windowSeconds, statistics: summary)
        if let due = limiter.offer(state, for: reading.sensorID, now: elapsed) { try publish(due) }
    }

    private func publish(_ state: LatestState) throws {
        let id = state.reading.sensorID
        guard var sensor = sensors[id] else { return }
        nextTag += 1
        try producer.send(
            topic: latestTopic, key: Array(id.utf8), value: state.encoded(),
            timestampMs: state.reading.timestamp.milliseconds, tag: nextTag, whenQueueFull: .wait(until: nil))
        if let first = sensor.firstUnpublished {
            inFlight[nextTag] = InFlight(partition: sensor.partition, firstOffset: first)
        }
        sensor.firstUnpublished = nil
        sensors[id] = sensor
        counts.published += 1
    }

    private func absorbAcknowledgements() throws {
        for report in acknowledgements.take() {
            if let error = report.error {
                throw KafkaError(
                    code: error.code,
                    message: "the brokers did not accept a latest state for \(latestTopic): \(error.message); "
                        + "its records were not committed and will be read again by the next run",
                    isRetriable: false)
            }
            inFlight[report.tag] = nil
        }
    }

    private func sendDeadLetters() {
        guard !unsentDeadLetters.isEmpty else { return }
        do {
            try deadLetters.send(unsentDeadLetters)
            counts.deadLetters += unsentDeadLetters.count
            unsentDeadLetters.removeAll()
        } catch {
            // Retried on the next turn; their offsets are held back until then.
            Terminal.note("speedo: consume latest: \(error.message); retrying")
        }
    }

    /// Publishes every held-back state at once, waits for the brokers to acknowledge what is in flight and sends
    /// the dead letters: for a stop, the end, or a revocation (rare enough not to count against the rate limit).
    private func settle() throws {
        for (_, state) in limiter.takeAll(now: elapsed) { try publish(state) }
        if producer.flush(timeout: .seconds(30)) > 0 {
            Terminal.note("speedo: consume latest: some states were not acknowledged within 30 s; "
                + "their records will be read again")
        }
        try absorbAcknowledgements()
        sendDeadLetters()
    }

    /// Commits, for each of `ids`, the offset of the first record whose effect is not acknowledged yet.
    private func commit(_ consumer: KafkaConsumer, partitions ids: [Int32]) {
        var safe: [Int32: Int64] = [:]
        for id in ids { if let next = partitions[id]?.next { safe[id] = next } }
        func holdBack(_ partition: Int32, _ offset: Int64) {
            if let current = safe[partition], offset < current { safe[partition] = offset }
        }
        for sensor in sensors.values { if let first = sensor.firstUnpublished { holdBack(sensor.partition, first) } }
        for entry in inFlight.values { holdBack(entry.partition, entry.firstOffset) }
        for letter in unsentDeadLetters { holdBack(letter.record.partition, letter.record.offset) }
        let positions = safe.compactMap { id, offset -> TopicPartitionOffset? in
            offset == partitions[id]?.committed ? nil : TopicPartitionOffset(topic: settings.topic, partition: id, offset: offset)
        }
        guard !positions.isEmpty else { return }
        do {
            try consumer.commit(offsets: positions)
            for position in positions { partitions.committed(position.partition, offset: position.offset) }
        } catch {
            Terminal.note("speedo: consume latest: could not commit offsets (\(error.message)); retrying later")
        }
    }

    // MARK: - Partitions

    private func assign(_ assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        let ours = assigned.filter { $0.topic == settings.topic }
        for partition in ours { partitions.track(partition.partition) }
        let shown = ours.map { String($0.partition) }.sorted().joined(separator: ", ")
        Terminal.note("speedo: consume latest: assigned \(settings.topic) partitions \(shown)")
        // The group's committed offsets, else the earliest record (auto.offset.reset).
        return [:]
    }

    private func revoke(_ revoked: [TopicPartition]) {
        let ids = Set(revoked.filter { $0.topic == settings.topic }.map(\.partition))
        do {
            try settle()
        } catch {
            handlerFailure = handlerFailure ?? error
        }
        if let consumer { commit(consumer, partitions: Array(ids)) }
        for id in ids { partitions.forget(id) }
        // Their next owner rebuilds them.
        sensors = sensors.filter { !ids.contains($0.value.partition) }
    }

    private func prepareLatestTopic() throws {
        let admin = try KafkaAdmin(configuration: settings.kafka)
        let partitions = try admin.metadata().topic(named: settings.topic)?.partitions.count ?? 0
        do {
            if try admin.createTopic(
                name: latestTopic, partitions: Int32(max(partitions, 1)), config: [("cleanup.policy", "compact")],
                timeout: .seconds(5)) == .created
            {
                Terminal.note("speedo: consume latest: created \(latestTopic) (compacted)")
            }
        } catch {
            Terminal.note(
                "speedo: consume latest: cannot create \(latestTopic) (\(error.message)); publishing anyway, so the "
                    + "cluster may create it with its defaults: make it compacted (cleanup.policy=compact)")
        }
    }

    private func waitForBrokers(_ consumer: KafkaConsumer) throws(KafkaError) {
        do {
            try consumer.waitForBrokers(timeout: .seconds(2))
        } catch {
            Terminal.note("speedo: no Kafka broker answers at \(settings.kafka.bootstrapServers) yet; waiting up to 30 s")
            try consumer.waitForBrokers(timeout: .seconds(28))
        }
    }
}

/// Delivery reports of latest states, appended by the producer's poll thread and taken by the loop.
private final class Acknowledgements: Sendable {
    private let reports = Mutex<[DeliveryReport]>([])

    func record(_ report: DeliveryReport) { reports.withLock { $0.append(report) } }

    func take() -> [DeliveryReport] {
        reports.withLock { reports in
            defer { reports.removeAll() }
            return reports
        }
    }
}
