import Dispatch
package import SpeedoCore
package import SpeedoRuntime
import Synchronization

/// Follows every partition of one topic without a consumer group (partitions assigned by hand, nothing committed),
/// on a thread of its own, handing records over in small batches as soon as they arrive.
///
/// Each partition starts at the earliest record the broker still holds, or at the first record stamped at or after
/// a time (offsets-for-times, with `KafkaConsumer`'s scan fallback where the broker cannot answer). The follower
/// reports `caughtUp` once every partition was read to its end (librdkafka's end-of-partition event, at or past the
/// high watermark it had when following started: on a busy topic, what came in during the catch-up is read too, so
/// that what arrives after `caughtUp` is new, not backlog still being read), and
/// `unreachable` while the brokers cannot be reached: it keeps retrying with backoff, and when they answer again it
/// goes on from where it was, so nothing is lost or read twice. Partitions added to the topic later are not followed.
///
/// At startup it waits for the brokers by the rule every command follows (`KafkaHandle.connect(within:retrying:)`,
/// `--connect-timeout`): when none answered within the connect timeout it announces `gaveUp` and reads nothing more.
///
/// Threading: both callbacks run on the follower's thread, one call at a time; records of one partition arrive in
/// offset order, and every record of the batch that completes the catch-up is handed over before `caughtUp` is
/// reported. Keep the callbacks short: they delay the next poll. No callback runs once `stop()` has returned.
package final class TopicFollower: Sendable {
    package enum Start: Sendable, Hashable {
        /// The earliest record each partition still holds.
        case beginning
        /// The first record of each partition stamped at or after this time.
        case since(Timestamp)
    }

    package enum State: Sendable, Hashable {
        /// Finding the partitions and where to start, or reading what the topic held when following started.
        case connecting
        /// Every partition was read to its end, and at least up to where it ended when following started; what
        /// arrives now is new.
        case caughtUp
        /// The brokers (or the topic) cannot be reached; the follower keeps retrying.
        case unreachable(reason: String)
        /// No broker answered within the connect timeout at startup (`.noBrokersAvailable`, saying what to do); the
        /// follower stopped trying. Final.
        case gaveUp(KafkaError)
    }

    private let consumer: KafkaConsumer
    private let announcer: Announcer
    private let thread: PollingThread
    /// Cuts a backoff wait short when stopping.
    private let wake: DispatchSemaphore

    /// Starts following right away.
    ///
    /// - Parameters:
    ///   - configuration: the operator's properties win over the latency-minded defaults set here.
    ///   - connectTimeout: how long to wait for a broker at startup (`--connect-timeout`); once one answered, the
    ///     follower keeps retrying whatever happens.
    ///   - records: each batch of records as it arrives (never empty).
    ///   - stateChanged: every change of `state` (the initial `.connecting` is not reported).
    ///   - idle: after each poll that found nothing (about every 100 ms while the topic is quiet), e.g. to refresh
    ///     figures that decay.
    ///   - heartbeat: beaten on every turn of the loop and every attempt to reach the brokers (for `/livez`).
    /// - Throws: only for a configuration librdkafka rejects; unreachable brokers are reported through `stateChanged`.
    package init(
        configuration: KafkaConfiguration,
        topic: String,
        start: Start,
        connectTimeout: Duration,
        records: @escaping @Sendable ([ConsumedRecord]) -> Void,
        stateChanged: @escaping @Sendable (State) -> Void,
        idle: @escaping @Sendable () -> Void = {},
        heartbeat: Heartbeat? = nil
    ) throws(KafkaError) {
        var tuned = configuration.preferringLowLatencyReads()
        tuned.properties.insert(contentsOf: Self.followerDefaults, at: 0)
        let consumer = try KafkaConsumer(configuration: tuned, groupID: nil, reportEndOfPartition: true)
        let announcer = Announcer(stateChanged)
        let wake = DispatchSemaphore(value: 0)
        let loop = FollowLoop(
            consumer: consumer, topic: topic, start: start, connectTimeout: connectTimeout, announcer: announcer,
            wake: wake, deliver: records, idle: idle, heartbeat: heartbeat)
        self.consumer = consumer
        self.announcer = announcer
        self.wake = wake
        thread = PollingThread(name: "speedo-follow") { loop.step() }
    }

    deinit {
        stop()
    }

    package var state: State { announcer.state }

    /// Stops following and waits for the thread to end (unless called from one of the callbacks). Idempotent.
    package func stop() {
        announcer.silence()
        thread.stop { wake.signal() }
        consumer.close()
    }

    /// Besides the live path's short waits (`KafkaConfiguration.preferringLowLatencyReads`): a small prefetch queue,
    /// since the follower hands records on as fast as they come.
    private static let followerDefaults: [(String, String)] = [
        ("queued.max.messages.kbytes", "8192")
    ]
}

/// The state the follower announces, as a small state machine: the follower's thread feeds it what it observed and
/// announces (outside the lock) whatever it answers; `stop()` silences it.
private final class Announcer: Sendable {
    enum Observation {
        case caughtUp
        case reachable
        case unreachable(reason: String)
        case gaveUp(KafkaError)
    }

    private struct Machine {
        var state = TopicFollower.State.connecting
        var hasCaughtUp = false
        var isSilenced = false

        /// The state to announce when `observation` changes it.
        mutating func observe(_ observation: Observation) -> TopicFollower.State? {
            if case .gaveUp = state { return nil }
            let next: TopicFollower.State
            switch observation {
            case .caughtUp:
                hasCaughtUp = true
                next = .caughtUp
            case .reachable:
                guard case .unreachable = state else { return nil }
                next = hasCaughtUp ? .caughtUp : .connecting
            case .unreachable(let reason):
                next = .unreachable(reason: reason)
            case .gaveUp(let error):
                next = .gaveUp(error)
            }
            guard next != state else { return nil }
            state = next
            return isSilenced ? nil : next
        }
    }

    private let machine = Mutex(Machine())
    private let stateChanged: @Sendable (TopicFollower.State) -> Void

    init(_ stateChanged: @escaping @Sendable (TopicFollower.State) -> Void) {
        self.stateChanged = stateChanged
    }

    var state: TopicFollower.State { machine.withLock { $0.state } }

    var isSilenced: Bool { machine.withLock { $0.isSilenced } }

    var isUnreachable: Bool {
        machine.withLock { if case .unreachable = $0.state { true } else { false } }
    }

    func observe(_ observation: Observation) {
        if let announcement = machine.withLock({ $0.observe(observation) }) { stateChanged(announcement) }
    }

    func silence() {
        machine.withLock { $0.isSilenced = true }
    }
}

/// The follower's loop: one `step` at a time, on the follower's thread only.
// @unchecked Sendable: `PollingThread` calls `step` from its one thread, and nothing else touches the mutable
// properties; the let properties are Sendable.
private final class FollowLoop: @unchecked Sendable {
    private let consumer: KafkaConsumer
    private let topic: String
    private let start: TopicFollower.Start
    private let connectTimeout: Duration
    private let announcer: Announcer
    private let wake: DispatchSemaphore
    private let deliver: @Sendable ([ConsumedRecord]) -> Void
    private let idle: @Sendable () -> Void
    private let heartbeat: Heartbeat?

    /// Whether the startup wait for the brokers is over: connected, or given up (then nothing is read).
    private var startup = Startup.waiting
    private enum Startup { case waiting, connected, gaveUp }
    /// Per partition, the high watermark when following started; nil until the partitions are assigned.
    private var ends: [Int32: Int64]?
    /// Partitions not yet read up to their `ends`.
    private var behind: Set<Int32> = []
    private var failedAttempts = 0
    /// When to ask the brokers whether they answer: a second after anything was last heard from them (librdkafka
    /// reports lost connections only to its log, not to `poll`), right after an error event, and repeatedly with
    /// backoff while they do not.
    private var nextProbe = ContinuousClock.now
    private var batch: [ConsumedRecord] = []

    /// Short enough that a stop or a probe is never far away; records do not wait for it (poll returns on arrival).
    private static let pollTimeout = Duration.milliseconds(100)
    /// Hands records on in batches of at most this many even while more are queued, so the first ones do not wait.
    private static let batchLimit = 500
    /// One lookup of the partitions and their watermarks, or one reachability probe.
    private static let attemptTimeout = Duration.seconds(2)
    /// How long the brokers may stay silent before a probe asks whether they are still there.
    private static let quietProbeDelay = Duration.seconds(1)
    private static let startLookupTimeout = Duration.seconds(30)
    private static let retry = Backoff(
        initialDelay: .milliseconds(200), multiplier: 2, maximumDelay: .seconds(2), jitter: 0.2,
        maximumAttempts: nil, deadline: nil)

    init(
        consumer: KafkaConsumer, topic: String, start: TopicFollower.Start, connectTimeout: Duration,
        announcer: Announcer, wake: DispatchSemaphore, deliver: @escaping @Sendable ([ConsumedRecord]) -> Void,
        idle: @escaping @Sendable () -> Void, heartbeat: Heartbeat?
    ) {
        self.consumer = consumer
        self.topic = topic
        self.start = start
        self.connectTimeout = connectTimeout
        self.announcer = announcer
        self.wake = wake
        self.deliver = deliver
        self.idle = idle
        self.heartbeat = heartbeat
    }

    func step() {
        heartbeat?.beat()
        switch startup {
        case .waiting:
            waitForBrokers()
            return
        case .gaveUp:
            // Nothing more to do: sleep until `stop()` wakes the thread to end it.
            wake.wait()
            return
        case .connected:
            break
        }
        guard ends != nil else {
            assignEveryPartition()
            return
        }
        pollBatch()
        if ContinuousClock.now >= nextProbe { probeBrokers() }
    }

    /// Announces each failed attempt as `unreachable`, so that a dashboard or `/healthz` says what it waits for.
    private func waitForBrokers() {
        do throws(KafkaError) {
            let outcome = try consumer.handle.connect(within: connectTimeout) { [announcer, heartbeat] notice in
                heartbeat?.beat()
                announcer.observe(.unreachable(reason: notice.shortDescription))
                return !announcer.isSilenced
            }
            // Stopped: `stop()` ends the thread after this step.
            startup = outcome == .connected ? .connected : .gaveUp
        } catch {
            startup = .gaveUp
            announcer.observe(.gaveUp(error))
        }
    }

    private func assignEveryPartition() {
        do throws(KafkaError) {
            let watermarks = try consumer.watermarks(topic: topic, timeout: Self.attemptTimeout)
            let starts: [Int32: Int64]
            switch start {
            case .beginning:
                starts = watermarks.mapValues(\.low)
            case .since(let time):
                starts = try consumer.offsets(
                    forTimestampMs: time.milliseconds, topic: topic, partitions: watermarks.keys.sorted(),
                    timeout: Self.startLookupTimeout)
            }
            try consumer.assign(starts.keys.sorted().map { partition in
                let offset = start == .beginning ? TopicPartitionOffset.earliest : starts[partition]!
                return TopicPartitionOffset(topic: topic, partition: partition, offset: offset)
            })
            ends = watermarks.mapValues(\.high)
            behind = Set(watermarks.keys.filter { starts[$0]! < watermarks[$0]!.high })
            failedAttempts = 0
            nextProbe = .now + Self.quietProbeDelay
            announcer.observe(.reachable)
            if behind.isEmpty { announcer.observe(.caughtUp) }
        } catch {
            let delay = failed(error)
            _ = wake.wait(timeout: .now() + .milliseconds(Int(delay.clampedMilliseconds)))
        }
    }

    private func pollBatch() {
        let wasBehind = !behind.isEmpty
        var event = consumer.poll(timeout: Self.pollTimeout)
        if event == nil { idle() }
        if event != nil && !announcer.isUnreachable { nextProbe = .now + Self.quietProbeDelay }
        while let current = event {
            handle(current)
            if batch.count >= Self.batchLimit { break }
            event = consumer.poll(timeout: .zero)
        }
        if !batch.isEmpty {
            deliver(batch)
            batch.removeAll(keepingCapacity: true)
        }
        if wasBehind && behind.isEmpty { announcer.observe(.caughtUp) }
    }

    private func handle(_ event: ConsumerEvent) {
        switch event {
        case .record(let record):
            batch.append(record)
        case .endOfPartition(_, let partition, let offset):
            reached(offset, in: partition)
        case .error:
            // Perhaps a partition whose leader is gone; a probe tells whether the brokers still answer.
            if !announcer.isUnreachable { nextProbe = .now }
        }
    }

    private func reached(_ next: Int64, in partition: Int32) {
        if let end = ends?[partition], next >= end { behind.remove(partition) }
    }

    private func probeBrokers() {
        do throws(KafkaError) {
            // A metadata request without topics: cheap enough to send every second, even to a large cluster.
            try consumer.waitForBrokers(timeout: Self.attemptTimeout)
            failedAttempts = 0
            nextProbe = .now + Self.quietProbeDelay
            announcer.observe(.reachable)
        } catch {
            nextProbe = .now + failed(error)
        }
    }

    /// Announces the failure; returns how long to wait before the next attempt.
    private func failed(_ error: KafkaError) -> Duration {
        announcer.observe(.unreachable(reason: error.description))
        failedAttempts += 1
        return Self.retry.delay(afterFailedAttempts: failedAttempts, elapsed: .zero) ?? Self.retry.maximumDelay
    }
}
