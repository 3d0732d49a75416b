import Foundation
import Glibc
import SpeedoCore
import SpeedoKafka
import Synchronization
import Testing

/// What a follower handed over, in the order it did.
private final class FollowerLog: Sendable {
    private struct Entries {
        var records: [ConsumedRecord] = []
        var states: [TopicFollower.State] = []
        /// How many records had arrived when each state was announced.
        var recordsAtState: [Int] = []
    }

    private let entries = Mutex(Entries())

    func follow(
        _ cluster: MockCluster, topic: String, start: TopicFollower.Start, connectTimeout: Duration = .seconds(60)
    ) throws -> TopicFollower {
        try TopicFollower(
            configuration: configuration(cluster), topic: topic, start: start, connectTimeout: connectTimeout,
            records: { batch in
                precondition(!batch.isEmpty)
                self.entries.withLock { $0.records += batch }
            },
            stateChanged: { state in
                self.entries.withLock { entries in
                    entries.states.append(state)
                    entries.recordsAtState.append(entries.records.count)
                }
            })
    }

    var records: [ConsumedRecord] { entries.withLock { $0.records } }
    var states: [TopicFollower.State] { entries.withLock { $0.states } }
    var recordsAtState: [Int] { entries.withLock { $0.recordsAtState } }

    /// Sleeps briefly until `condition` holds or `timeout` passed; returns whether it held.
    @discardableResult
    func wait(timeout: Duration = .seconds(15), until condition: (FollowerLog) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(10_000)
        }
        return true
    }
}

private extension TopicFollower.State {
    var isUnreachable: Bool { if case .unreachable = self { true } else { false } }
}

private extension [ConsumedRecord] {
    /// "partition@offset=value" of each record, sorted.
    var positions: [String] {
        map { "\($0.partition)@\($0.offset)=\(String(decoding: $0.value ?? [], as: UTF8.self))" }.sorted()
    }
}

@Suite("TopicFollower against the mock cluster", .serialized)
struct TopicFollowerTests {
    private static let t0: Int64 = 1_700_000_000_000

    /// Sends one record per timestamp to `partition`, value "p<partition>-<label><index>", and waits for delivery.
    private func produce(
        _ cluster: MockCluster, topic: String, partition: Int32, timestampsMs: [Int64], label: String = ""
    ) throws {
        let producer = try KafkaProducer(configuration: configuration(cluster)) { _ in }
        for (index, timestamp) in timestampsMs.enumerated() {
            try producer.send(
                topic: topic, key: nil, value: Array("p\(partition)-\(label)\(index)".utf8), partition: partition,
                timestampMs: timestamp, tag: UInt64(index))
        }
        #expect(producer.close(flushTimeout: .seconds(15)) == 0)
    }

    @Test func fromTheBeginningEverythingThenCaughtUpThenLiveRecords() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("follow")
        try cluster.createTopic(name: topic, partitions: 3)
        for partition: Int32 in [0, 2] {
            try produce(cluster, topic: topic, partition: partition, timestampsMs: (0..<40).map { Self.t0 + $0 })
        }
        let log = FollowerLog()
        let follower = try log.follow(cluster, topic: topic, start: .beginning)
        defer { follower.stop() }

        #expect(log.wait { $0.states.contains(.caughtUp) })
        #expect(log.states == [.caughtUp])
        #expect(follower.state == .caughtUp)
        // Every record held at the start came before the announcement.
        #expect(log.recordsAtState == [80])
        let expected: [String] = [Int32(0), 2].flatMap { partition -> [String] in (0..<40).map { "\(partition)@\($0)=p\(partition)-\($0)" } }
        #expect(log.records.positions == expected.sorted())
        // Each partition in offset order.
        for partition: Int32 in [0, 2] {
            let offsets = log.records.filter { $0.partition == partition }.map(\.offset)
            #expect(offsets == offsets.sorted())
        }

        try produce(cluster, topic: topic, partition: 1, timestampsMs: [Self.t0, Self.t0 + 1], label: "live")
        #expect(log.wait { $0.records.count == 82 })
        #expect(log.records.filter { $0.partition == 1 }.positions == ["1@0=p1-live0", "1@1=p1-live1"])
        #expect(log.states == [.caughtUp])
    }

    /// On a busy topic the catch-up is over only at the partition's end as it is then, not at the end it had when
    /// following started: records that came in meanwhile are backlog too, and are handed over before `caughtUp`.
    @Test func recordsArrivingDuringTheCatchUpAreReadBeforeCaughtUp() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("busy")
        try cluster.createTopic(name: topic, partitions: 1)
        try produce(cluster, topic: topic, partition: 0, timestampsMs: (0..<2_000).map { Self.t0 + $0 })
        let progress = Mutex((records: 0, atCaughtUp: [Int]()))
        // Fetches of about 30 records, and no more fetched ahead than a few: the catch-up takes many fetches, as a
        // large backlog does, and none happens while the first batch is being handed over.
        var smallFetches = configuration(cluster)
        smallFetches.properties += [("max.partition.fetch.bytes", "1000"), ("queued.min.messages", "10")]
        let follower = try TopicFollower(
            configuration: smallFetches, topic: topic, start: .beginning, connectTimeout: .seconds(60),
            records: { batch in
                let isFirst = progress.withLock { progress in
                    defer { progress.records += batch.count }
                    return progress.records == 0
                }
                // While the first of the 2,000 are handed over, 300 more arrive (acknowledged before this returns).
                if isFirst {
                    try? produce(cluster, topic: topic, partition: 0, timestampsMs: (0..<300).map { Self.t0 + $0 }, label: "late")
                }
            },
            stateChanged: { state in
                if state == .caughtUp { progress.withLock { $0.atCaughtUp.append($0.records) } }
            })
        defer { follower.stop() }
        let deadline = ContinuousClock.now + .seconds(15)
        while progress.withLock({ $0.atCaughtUp.isEmpty }), ContinuousClock.now < deadline { usleep(10_000) }
        #expect(progress.withLock { $0.atCaughtUp } == [2_300])
    }

    @Test func sinceATimeOnlyRecordsStampedAtOrAfterIt() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("since")
        try cluster.createTopic(name: topic, partitions: 3)
        try produce(cluster, topic: topic, partition: 0, timestampsMs: [0, 1000, 2000, 3000, 4000].map { Self.t0 + $0 })
        try produce(cluster, topic: topic, partition: 1, timestampsMs: [500, 2500, 2999].map { Self.t0 + $0 })
        try produce(cluster, topic: topic, partition: 2, timestampsMs: [100, 200].map { Self.t0 + $0 })

        let log = FollowerLog()
        let since = Timestamp(microseconds: (Self.t0 + 2500) * 1000)
        let follower = try log.follow(cluster, topic: topic, start: .since(since))
        defer { follower.stop() }
        #expect(log.wait { $0.states.contains(.caughtUp) })
        #expect(log.records.positions == ["0@3=p0-3", "0@4=p0-4", "1@1=p1-1", "1@2=p1-2"])
        #expect(log.records.allSatisfy { ($0.timestampMs ?? 0) >= Self.t0 + 2500 })

        // A partition that had nothing new at the start still delivers what comes later, whatever its stamp.
        try produce(cluster, topic: topic, partition: 2, timestampsMs: [Self.t0], label: "late")
        #expect(log.wait { $0.records.count == 5 })
        #expect(log.records.last?.value == Array("p2-late0".utf8))
    }

    @Test func anEmptyTopicIsCaughtUpAtOnce() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("empty")
        try cluster.createTopic(name: topic, partitions: 2)
        let log = FollowerLog()
        let follower = try log.follow(cluster, topic: topic, start: .since(Timestamp(microseconds: Self.t0 * 1000)))
        defer { follower.stop() }
        #expect(log.wait(timeout: .seconds(5)) { $0.states == [.caughtUp] })
        #expect(log.records.isEmpty)
    }

    @Test func anOutageIsReportedAndNothingIsLostOrReadTwice() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("outage")
        try cluster.createTopic(name: topic, partitions: 2)
        for partition: Int32 in [0, 1] {
            try produce(cluster, topic: topic, partition: partition, timestampsMs: (0..<10).map { Self.t0 + $0 })
        }
        let log = FollowerLog()
        let follower = try log.follow(cluster, topic: topic, start: .beginning)
        defer { follower.stop() }
        #expect(log.wait { $0.states == [.caughtUp] })

        try cluster.setBroker(1, up: false)
        #expect(log.wait { $0.states.last?.isUnreachable == true })
        if case .unreachable(let reason) = log.states.last {
            #expect(reason.contains(cluster.bootstrapServers) || reason.contains("reachable"))
        }
        #expect(follower.state.isUnreachable)

        // Written while the broker is down: the producer delivers once it is back.
        let late = Thread { [cluster] in
            try? produceLate(cluster, topic: topic)
        }
        late.start()
        usleep(300_000)
        try cluster.setBroker(1, up: true)
        #expect(log.wait(timeout: .seconds(20)) { $0.records.count >= 30 && $0.states.last == .caughtUp })
        usleep(300_000)  // anything read twice would show up by now
        let expected: [String] = [Int32(0), 1].flatMap { partition -> [String] in
            (0..<10).map { "\(partition)@\($0)=p\(partition)-\($0)" }
                + (0..<5).map { "\(partition)@\(10 + $0)=p\(partition)-late\($0)" }
        }
        #expect(log.records.positions == expected.sorted())
        #expect(log.states.first == .caughtUp && log.states.last == .caughtUp)
        #expect(!log.states.contains(.connecting))
    }

    @Test func brokersDownAtTheStartAreWaitedFor() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("late-broker")
        try cluster.createTopic(name: topic, partitions: 1)
        try produce(cluster, topic: topic, partition: 0, timestampsMs: [Self.t0, Self.t0 + 1])
        try cluster.setBroker(1, up: false)
        let log = FollowerLog()
        let follower = try log.follow(cluster, topic: topic, start: .beginning)
        defer { follower.stop() }
        #expect(log.wait { $0.states.first?.isUnreachable == true })
        #expect(log.records.isEmpty)
        try cluster.setBroker(1, up: true)
        #expect(log.wait(timeout: .seconds(20)) { $0.states.last == .caughtUp })
        #expect(log.records.positions == ["0@0=p0-0", "0@1=p0-1"])
        #expect(log.states.count >= 2 && log.states.dropFirst().dropLast().allSatisfy { $0 != .caughtUp })
    }

    /// The startup wait every command follows (`--connect-timeout`): each failed attempt is announced as
    /// unreachable, then the follower gives up with the error that says what to do, and announces nothing more.
    @Test func brokersThatNeverAnswerAreGivenUpOnAfterTheConnectTimeout() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("never")
        try cluster.createTopic(name: topic, partitions: 1)
        try cluster.setBroker(1, up: false)
        let log = FollowerLog()
        let clock = ContinuousClock()
        let started = clock.now
        let follower = try log.follow(cluster, topic: topic, start: .beginning, connectTimeout: .seconds(3))
        defer { follower.stop() }
        #expect(log.wait(timeout: .seconds(15)) { if case .gaveUp = $0.states.last { true } else { false } })
        let waited = clock.now - started
        #expect(waited >= .seconds(3) && waited < .seconds(8), "\(waited)")
        let states = log.states
        #expect(states.dropLast().allSatisfy(\.isUnreachable) && states.count >= 2, "\(states)")
        guard case .gaveUp(let error) = states.last else { return }
        #expect(error.code == .noBrokersAvailable)
        #expect(error.message.contains("no broker answered within 3s"), "\(error.message)")
        // Given up is final: a broker coming back changes nothing.
        try cluster.setBroker(1, up: true)
        usleep(1_500_000)
        #expect(log.states.count == states.count)
        #expect(follower.state == states.last)
    }

    @Test func stopEndsTheThreadPromptlyAndSilencesCallbacks() throws {
        let cluster = try MockCluster()
        let topic = uniqueName("stop")
        try cluster.createTopic(name: topic, partitions: 1)
        let log = FollowerLog()
        let follower = try log.follow(cluster, topic: topic, start: .beginning)
        #expect(log.wait { $0.states == [.caughtUp] })
        let clock = ContinuousClock()
        let started = clock.now
        follower.stop()
        #expect(clock.now - started < .seconds(2))
        try produce(cluster, topic: topic, partition: 0, timestampsMs: [Self.t0])
        usleep(300_000)
        #expect(log.records.isEmpty)
    }
}

/// Five records per partition, sent while the broker may be down; librdkafka retries until it is back.
private func produceLate(_ cluster: MockCluster, topic: String) throws {
    let producer = try KafkaProducer(configuration: configuration(cluster, [("reconnect.backoff.max.ms", "200")])) { _ in }
    for partition: Int32 in [0, 1] {
        for index in 0..<5 {
            try producer.send(
                topic: topic, key: nil, value: Array("p\(partition)-late\(index)".utf8), partition: partition,
                timestampMs: 1_700_000_000_000, tag: UInt64(index))
        }
    }
    _ = producer.close(flushTimeout: .seconds(20))
}
