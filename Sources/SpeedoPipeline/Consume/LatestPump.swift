import Foundation
import SpeedoCore
package import SpeedoKafka
import SpeedoRuntime
import Synchronization

/// What `speedo consume latest` was asked to do.
package struct LatestPumpSettings {
    package var consumer: ConsumeSettings
    package var group: String
    package var windowSeconds: Int
    /// The shortest time between two records of one sensor (1 / --max-rate).
    package var emissionInterval: Duration
    /// `--metrics-listen`: kept up to date while running.
    package var metrics: LatestMetrics?

    package init(
        consumer: ConsumeSettings, group: String, windowSeconds: Int, emissionInterval: Duration, metrics: LatestMetrics? = nil
    ) {
        (self.consumer, self.group, self.metrics) = (consumer, group, metrics)
        (self.windowSeconds, self.emissionInterval) = (windowSeconds, emissionInterval)
    }
}

package enum LatestPumpOutcome {
    /// `--exit-at-end`: every assigned partition was read to its end, and every state published and committed.
    case reachedEnd
    /// SIGINT/SIGTERM, after publishing what was pending and committing what was acknowledged.
    case stopped
}

/// The pump of `speedo consume latest`: folds each sensor's readings into its `RollingStats`, and publishes its
/// `LatestState` to `speed-latest` through a `CoalescingRateLimiter` (a 10 ms tick emits states that became due).
///
/// Offsets: a partition's offset is committed only up to the first record whose effect is not yet acknowledged by
/// the brokers: a state still held back by the rate limit, a state in flight, or a dead letter not yet sent.
/// After a crash the records after the commit are read again: at least once, harmless for a compacted topic whose
/// newest record per key wins. The statistics live only in memory: after a restart, the first window's cover only
/// what was read since (the group's committed offsets are usually recent).
///
/// Threading: `run` blocks its thread for the whole run, and the `ConsumerLoop` calls the pump on that thread only;
/// the publisher's delivery handler runs on its poll thread, and only appends to `acknowledgements`.
package struct LatestPump: ConsumerPump {
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
    /// To speed-latest: the record contract (key, value, timestamp) is the publisher's.
    private let publisher: ReadingPublisher
    private let deadLetters: DeadLetterSender
    private let acknowledgements: Acknowledgements
    private var sensors: [String: Sensor] = [:]
    private var limiter: CoalescingRateLimiter<LatestState>
    private var inFlight: [UInt64: InFlight] = [:]
    private var nextTag: UInt64 = 0
    private var unsentDeadLetters: [DeadLetter] = []
    private let started = ContinuousClock.now
    private var counts = (readings: 0, published: 0, deadLetters: 0)
    /// What the metrics have of `counts`, and when they are brought up to date next.
    private var countsInMetrics = (readings: 0, published: 0, deadLetters: 0)
    private var nextMetrics = ContinuousClock.now

    /// How often the metrics of `--metrics-listen` are brought up to date (the pump's thread owns the consumer).
    private static let metricsInterval = Duration.seconds(1)
    /// When the run ended (before the final revocation forgets them).
    private var sensorsAtEnd = 0

    private static let tick = Duration.milliseconds(10)

    package init(settings: LatestPumpSettings) throws(KafkaError) {
        self.settings = settings
        limiter = CoalescingRateLimiter(interval: settings.emissionInterval)
        let acknowledgements = Acknowledgements()
        self.acknowledgements = acknowledgements
        publisher = try ReadingPublisher(
            configuration: settings.consumer.kafka.preferringLowLatencyWrites(), topic: ConnectionSettings.latestTopic
        ) {
            acknowledgements.record($0)
        }
        deadLetters = try DeadLetterSender(configuration: settings.consumer.kafka, sourceTopic: settings.consumer.topic)
    }

    package mutating func run() throws -> LatestPumpOutcome {
        defer {
            publisher.close()
            deadLetters.close()
        }
        let loop = try settings.consumer.loop(command: "consume latest", membership: .group(settings.group))
        let stop = settings.consumer.stop
        let outcome = try loop.run(&self) { stop.isRequested }
        settings.consumer.notes.note(
            "speedo: consume latest: \(grouped(counts.readings)) readings of \(grouped(sensorsAtEnd)) sensors, "
                + "\(grouped(counts.published)) states published to \(latestTopic), \(grouped(counts.deadLetters)) "
                + "records sent to \(deadLetters.topic)")
        return outcome
    }

    // MARK: - The loop's calls

    package var pollTimeout: Duration { Self.tick }

    package func connected(_ loop: ConsumerLoop) throws {
        try prepareLatestTopic()
        settings.consumer.notes.note("speedo: consume latest: reading \(settings.consumer.topic) as group \(settings.group) into \(latestTopic)")
        let (fetchWait, linger) = (loop.effectiveProperty("fetch.wait.max.ms") ?? "?", publisher.effectiveProperty("linger.ms") ?? "?")
        settings.consumer.notes.note(
            "speedo: consume latest: live path: fetch.wait.max.ms=\(fetchWait) reading, linger.ms=\(linger) publishing",
            level: .debug, fields: ["fetch.wait.max.ms": fetchWait, "linger.ms": linger])
        settings.metrics?.recordAvailable()
    }

    package mutating func stopRequested(_ loop: ConsumerLoop) throws -> LatestPumpOutcome {
        try settle()
        commit(loop, partitions: loop.positions.ids)
        sensorsAtEnd = sensors.count
        return .stopped
    }

    package mutating func caughtUp(_ loop: ConsumerLoop) throws -> LatestPumpOutcome? {
        guard settings.consumer.exitAtEnd, limiter.pendingCount == 0 else { return nil }
        try settle()
        guard loop.isCaughtUp else { return nil }
        commit(loop, partitions: loop.positions.ids)
        sensorsAtEnd = sensors.count
        return .reachedEnd
    }

    package mutating func handle(_ record: ConsumedRecord, _ loop: ConsumerLoop) throws {
        switch record.verdict(now: Timestamp.current()) {
        case .valid(let reading): try fold(reading, from: record)
        case .invalid(let letter): unsentDeadLetters.append(letter)
        }
    }

    package mutating func turnEnded(_ loop: ConsumerLoop) throws -> LatestPumpOutcome? {
        for (_, state) in limiter.takeDue(now: elapsed) { try publish(state) }
        try absorbAcknowledgements()
        sendDeadLetters()
        if let metrics = settings.metrics, ContinuousClock.now >= nextMetrics {
            metrics.record(
                readings: counts.readings - countsInMetrics.readings, published: counts.published - countsInMetrics.published,
                deadLetters: counts.deadLetters - countsInMetrics.deadLetters)
            countsInMetrics = counts
            let lags = loop.lags()
            metrics.recordPosition(
                lag: lags.reduce(0) { $0 + ($1.lag ?? 0) }, assignedPartitions: lags.count, sensors: sensors.count)
            nextMetrics = ContinuousClock.now + Self.metricsInterval
        }
        return nil
    }

    package func commit(_ loop: ConsumerLoop) {
        commit(loop, partitions: loop.positions.ids)
    }

    package func assigned(_ partitions: [Int32], _ loop: ConsumerLoop) -> [Int32: PartitionStart] {
        let shown = partitions.map(String.init).sorted().joined(separator: ", ")
        settings.consumer.notes.note(
            "speedo: consume latest: assigned \(settings.consumer.topic) partitions \(shown)",
            fields: ["topic": settings.consumer.topic, "partitions": partitions.sorted().map(String.init).joined(separator: ",")])
        // The group's committed offsets, else the earliest record (auto.offset.reset).
        return [:]
    }

    package mutating func revoked(_ partitions: [Int32], _ loop: ConsumerLoop) throws {
        let ids = Set(partitions)
        defer {
            commit(loop, partitions: partitions)
            // Their next owner rebuilds them.
            sensors = sensors.filter { !ids.contains($0.value.partition) }
        }
        try settle()
    }

    // MARK: - Folding and publishing

    private var elapsed: Duration { ContinuousClock.now - started }

    /// Counts `reading` and offers the sensor's new state to the rate limit. The state shows the newest reading
    /// by event time: a late one only changes the statistics.
    private mutating func fold(_ reading: Reading, from record: ConsumedRecord) throws {
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

    private mutating func publish(_ state: LatestState) throws {
        let id = state.reading.sensorID
        guard var sensor = sensors[id] else { return }
        nextTag += 1
        try publisher.publish(state, tag: nextTag, whenQueueFull: .wait(until: nil))
        if let first = sensor.firstUnpublished {
            inFlight[nextTag] = InFlight(partition: sensor.partition, firstOffset: first)
        }
        sensor.firstUnpublished = nil
        sensors[id] = sensor
        counts.published += 1
    }

    private mutating func absorbAcknowledgements() throws {
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

    private mutating func sendDeadLetters() {
        guard !unsentDeadLetters.isEmpty else { return }
        do {
            try deadLetters.send(unsentDeadLetters)
            counts.deadLetters += unsentDeadLetters.count
            unsentDeadLetters.removeAll()
            settings.metrics?.recordAvailable()
        } catch {
            // Retried on the next turn; their offsets are held back until then.
            settings.consumer.notes.note("speedo: consume latest: \(error.message); retrying")
            settings.metrics?.recordUnavailable(error.message)
        }
    }

    /// Publishes every held-back state at once, waits for the brokers to acknowledge what is in flight and sends
    /// the dead letters: for a stop, the end, or a revocation (rare enough not to count against the rate limit).
    private mutating func settle() throws {
        for (_, state) in limiter.takeAll(now: elapsed) { try publish(state) }
        if publisher.flush(timeout: .seconds(30)) > 0 {
            settings.consumer.notes.note("speedo: consume latest: some states were not acknowledged within 30 s; "
                + "their records will be read again")
        }
        try absorbAcknowledgements()
        sendDeadLetters()
    }

    /// Commits, for each of `ids`, the offset of the first record whose effect is not acknowledged yet.
    private func commit(_ loop: ConsumerLoop, partitions ids: [Int32]) {
        var safe: [Int32: Int64] = [:]
        for id in ids { if let next = loop.positions[id]?.next { safe[id] = next } }
        func holdBack(_ partition: Int32, _ offset: Int64) {
            if let current = safe[partition], offset < current { safe[partition] = offset }
        }
        for sensor in sensors.values { if let first = sensor.firstUnpublished { holdBack(sensor.partition, first) } }
        for entry in inFlight.values { holdBack(entry.partition, entry.firstOffset) }
        for letter in unsentDeadLetters { holdBack(letter.record.partition, letter.record.offset) }
        do {
            try loop.commit(safe)
        } catch {
            settings.consumer.notes.note("speedo: consume latest: could not commit offsets (\(error.message)); retrying later")
        }
    }

    private func prepareLatestTopic() throws {
        let admin = try KafkaAdmin(configuration: settings.consumer.kafka)
        let partitions = try admin.metadata().topic(named: settings.consumer.topic)?.partitions.count ?? 0
        do {
            if try admin.createTopic(
                name: latestTopic, partitions: Int32(max(partitions, 1)), config: [("cleanup.policy", "compact")],
                timeout: .seconds(5)) == .created
            {
                settings.consumer.notes.note("speedo: consume latest: created \(latestTopic) (compacted)")
            }
        } catch {
            settings.consumer.notes.note(
                "speedo: consume latest: cannot create \(latestTopic) (\(error.message)); publishing anyway, so the "
                    + "cluster may create it with its defaults: make it compacted (cleanup.policy=compact)")
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
