import Foundation
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime

/// Where `consume stdout` starts reading a partition.
package enum StartPosition: String, CaseIterable {
    case beginning, end
    /// The group's committed offsets.
    case stored
}

/// What `speedo consume stdout` was asked to do.
package struct StdoutPumpSettings {
    package var kafka: KafkaConfiguration
    package var topic: String
    /// nil: a private assignment of every partition, nothing committed.
    package var group: String?
    /// Without a group: where every partition starts. With one: where partitions without a committed offset start.
    package var start: StartPosition
    package var format: ReadingTextFormat
    package var exitAtEnd: Bool
    package var stop: StopRequest

    package init(
        kafka: KafkaConfiguration,
        topic: String,
        group: String?,
        start: StartPosition,
        format: ReadingTextFormat,
        exitAtEnd: Bool,
        stop: StopRequest
    ) {
        self.kafka = kafka
        self.topic = topic
        self.group = group
        self.start = start
        self.format = format
        self.exitAtEnd = exitAtEnd
        self.stop = stop
    }
}

package enum StdoutPumpOutcome {
    /// `--exit-at-end`: every partition read was read to its end.
    case reachedEnd
    /// Standard output was closed by its reader (`| head`).
    case readerGone
    /// SIGINT/SIGTERM, after writing (and, in a group, committing) what was read.
    case stopped
}

/// The loop of `speedo consume stdout`: reads the topic (privately or as a group member), writes every valid
/// reading as a line and notes every invalid record on stderr. In a group, offsets are committed only after the
/// lines they cover were written: at least once to standard output.
///
/// Threading: `run` blocks its thread for the whole run; librdkafka calls the rebalance handler from inside `poll`
/// (or `close`) on that same thread.
// @unchecked Sendable: the rebalance closures must be @Sendable, but they run only inside `consumer.poll`/`close`,
// which `run` calls from its own thread; every mutable property is touched from that thread alone.
package final class StdoutPump: @unchecked Sendable {
    private let settings: StdoutPumpSettings
    private var output: StandardOutputSink
    private var partitions = PartitionPositions()
    private var pending: [Reading] = []
    private var written = 0
    private var skipped = 0
    private var readerGone = false
    /// Whether "caught up" was said on stderr (once per run).
    private var saidCaughtUp = false
    /// A failure inside the rebalance handler, which cannot throw: raised by the loop right after `poll`.
    private var handlerFailure: (any Error)?
    private var lastKafkaError: String?
    /// Set by `run`, for the rebalance handler.
    private var consumer: KafkaConsumer?

    private static let batchLimit = 10_000
    private static let commitInterval = Duration.seconds(1)

    package init(settings: StdoutPumpSettings) {
        self.settings = settings
        output = StandardOutputSink(format: settings.format)
    }

    package func run() throws -> StdoutPumpOutcome {
        let consumer = try KafkaConsumer(
            configuration: settings.kafka, groupID: settings.group, autoCommit: false, reportEndOfPartition: true,
            rebalance: settings.group == nil ? nil : RebalanceHandler(
                onAssign: { [unowned self] in assign($0) },
                onRevoke: { [unowned self] in revoke($0) }))
        self.consumer = consumer
        defer {
            consumer.close()
            self.consumer = nil
        }
        try waitForBrokers(consumer)
        if let group = settings.group {
            try consumer.subscribe(topics: [settings.topic])
            Terminal.note("speedo: consume stdout: reading \(settings.topic) as group \(group)")
        } else {
            try assignEveryPartition(consumer)
        }
        let outcome = try pump(consumer)
        if outcome != .readerGone { try output.finish() }
        consumer.close()
        if let failure = handlerFailure { throw failure }
        Terminal.note("speedo: consume stdout: \(grouped(written)) readings written, \(grouped(skipped)) invalid "
            + "records skipped")
        return outcome
    }

    private func pump(_ consumer: KafkaConsumer) throws -> StdoutPumpOutcome {
        var nextCommit = ContinuousClock.now + Self.commitInterval
        while true {
            if settings.stop.isRequested {
                commit(consumer, partitions: partitions.ids)
                return readerGone ? .readerGone : .stopped
            }
            if settings.exitAtEnd, isCaughtUp(consumer) {
                commit(consumer, partitions: partitions.ids)
                return readerGone ? .readerGone : .reachedEnd
            }
            if let event = consumer.poll(timeout: .milliseconds(100)) { try handle(event) }
            while pending.count < Self.batchLimit, !readerGone, let event = consumer.poll(timeout: .zero) {
                try handle(event)
            }
            if let failure = handlerFailure { throw failure }
            try writePending()
            if readerGone { return .readerGone }
            if !saidCaughtUp, isCaughtUp(consumer) {
                // Like kcat's "Reached end of topic": from here on, every line is new.
                Terminal.note("speedo: consume stdout: caught up with \(settings.topic) (\(partitions.count) partitions)")
                saidCaughtUp = true
            }
            if settings.group != nil, ContinuousClock.now >= nextCommit {
                commit(consumer, partitions: partitions.ids)
                nextCommit = ContinuousClock.now + Self.commitInterval
            }
        }
    }

    private func isCaughtUp(_ consumer: KafkaConsumer) -> Bool {
        partitions.isCaughtUp(consumer, topic: settings.topic)
    }

    private func handle(_ event: ConsumerEvent) throws {
        switch event {
        case .record(let record):
            guard record.topic == settings.topic, partitions[record.partition] != nil else { return }
            switch record.verdict(now: Timestamp.current()) {
            case .valid(let reading):
                pending.append(reading)
            case .invalid(let letter):
                skipped += 1
                Terminal.note("\(record.position): \(letter.reason)")
            }
            partitions.processed(record.partition, offset: record.offset)
        case .endOfPartition(let topic, let partition, let offset):
            guard topic == settings.topic else { return }
            _ = partitions.reachedEnd(partition, offset: offset)
        case .error(let error):
            if error.isFatal { throw error }
            // librdkafka keeps retrying by itself; say so once per distinct problem.
            if error.message != lastKafkaError {
                Terminal.note("speedo: Kafka: \(error.message) (retrying)")
                lastKafkaError = error.message
            }
        }
    }

    private func writePending() throws {
        guard !pending.isEmpty, !readerGone else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        if try output.write(pending) == .closed {
            readerGone = true
        } else {
            written += pending.count
        }
    }

    /// Commits the positions of `ids` whose lines are all written; never after the reader went away, since some
    /// lines read may not have reached it.
    private func commit(_ consumer: KafkaConsumer, partitions ids: [Int32]) {
        guard settings.group != nil, !readerGone else { return }
        do {
            try writePending()
        } catch {
            handlerFailure = handlerFailure ?? error
            return
        }
        guard !readerGone else { return }
        let positions = ids.compactMap { id -> TopicPartitionOffset? in
            guard let state = partitions[id], let next = state.next, next != state.committed else { return nil }
            return TopicPartitionOffset(topic: settings.topic, partition: id, offset: next)
        }
        guard !positions.isEmpty else { return }
        do {
            try consumer.commit(offsets: positions)
            for position in positions { partitions.committed(position.partition, offset: position.offset) }
        } catch {
            // At least once: the next member reads these records again.
            Terminal.note("speedo: consume stdout: could not commit offsets (\(error.message)); retrying later")
        }
    }

    // MARK: - Partitions

    private func assignEveryPartition(_ consumer: KafkaConsumer) throws {
        let admin = try KafkaAdmin(configuration: settings.kafka)
        guard let topic = try admin.metadata().topic(named: settings.topic), topic.error == nil,
            !topic.partitions.isEmpty
        else {
            throw CommandFailure(
                .unavailable,
                "topic \(settings.topic) does not exist at \(settings.kafka.bootstrapServers); check -t/--topic "
                    + "(`speedo ingest` or `speedo simulate` creates it)")
        }
        let start = settings.start == .end ? TopicPartitionOffset.latest : TopicPartitionOffset.earliest
        try consumer.assign(topic.partitions.map {
            TopicPartitionOffset(topic: settings.topic, partition: $0.id, offset: start)
        })
        for partition in topic.partitions { partitions.track(partition.id) }
    }

    private func assign(_ assigned: [TopicPartition]) -> [TopicPartition: Int64] {
        for partition in assigned where partition.topic == settings.topic {
            partitions.track(partition.partition)
        }
        // Committed offsets where the group has them, else auto.offset.reset (set from --from).
        return [:]
    }

    private func revoke(_ revoked: [TopicPartition]) {
        let ours = revoked.filter { $0.topic == settings.topic }.map(\.partition)
        // Commit what was written while the partitions are still ours: the next owner starts there.
        if let consumer { commit(consumer, partitions: ours) }
        for id in ours { partitions.forget(id) }
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
