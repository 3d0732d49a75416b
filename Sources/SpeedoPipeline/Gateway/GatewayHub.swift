package import NIOCore
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
import Synchronization

/// How the feed from `speed-latest` is doing, for `GET /healthz`.
package typealias GatewayFeedStatus = TopicFollower.State

/// The latest state of every sensor, the recent updates (`GatewayUpdateLog`), each sensor's recent readings
/// (`GatewayRecentReadings`), and the clients, by event loop.
///
/// `publish` runs on the Kafka thread and never waits for a client: it appends the updates to the log (one lock, a
/// few dictionary operations) and asks each event loop with clients to write them (`GatewayLoopClients`), once per
/// loop however many clients it serves. Each client is written by its event loop alone.
package final class GatewayHub: Sendable {
    private struct State {
        var latest: [String: GatewayUpdate] = [:]
        var log = GatewayUpdateLog()
        var recent = GatewayRecentReadings()
        var loops: [ObjectIdentifier: GatewayLoopClients] = [:]
        var connections = 0
        var feed = GatewayFeedStatus.connecting
    }

    private let state = Mutex(State())
    /// A client whose oldest undelivered update has waited longer than this is closed.
    package let maxLag: Duration
    package let metrics: GatewayMetrics
    /// Beaten by the follower's loop, for `/livez`.
    package let heartbeat: Heartbeat
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    package init(maxLag: Duration, metrics: GatewayMetrics, heartbeat: Heartbeat = Heartbeat()) {
        self.maxLag = maxLag
        self.metrics = metrics
        self.heartbeat = heartbeat
        origin = clock.now
    }

    /// The hub's monotonic time, which `GatewayUpdate.arrival` is in.
    package var now: Duration { clock.now - origin }

    package var feed: GatewayFeedStatus { state.withLock { $0.feed } }

    package var connectionCount: Int { state.withLock { $0.connections } }

    package func feedChanged(to status: GatewayFeedStatus) {
        state.withLock { $0.feed = status }
    }

    /// Adds a client of `loop` (called on it): returns the latest state of every sensor (by sensor id), which the
    /// client sends first, and the log's end, where its cursor starts. Both are taken under the same lock as
    /// `publish` appends, so no update is missed or sent twice.
    package func register(on loop: any EventLoop) -> (loopClients: GatewayLoopClients, snapshot: [GatewayUpdate], cursor: Int) {
        let (registered, count) = state.withLock { state in
            state.connections += 1
            let loopClients = state.loops[ObjectIdentifier(loop), default: GatewayLoopClients(eventLoop: loop, hub: self)]
            state.loops[ObjectIdentifier(loop)] = loopClients
            let snapshot = state.latest.keys.sorted().compactMap { state.latest[$0] }
            return ((loopClients, snapshot, state.log.end), state.connections)
        }
        metrics.connectionsChanged(to: count)
        return registered
    }

    package func unregister() {
        let count = state.withLock { state in
            state.connections -= 1
            return state.connections
        }
        metrics.connectionsChanged(to: count)
    }

    /// The log as it is now, for an event loop's writing pass (a copy that shares its storage).
    package var log: GatewayUpdateLog { state.withLock { $0.log } }

    /// Records from `speed-latest`, in order. A record that is not a valid latest state (the record contract every
    /// consumer applies) is counted and skipped; a tombstone (null value) forgets the sensor, so that new clients no
    /// longer get it.
    package func publish(_ records: [ConsumedRecord]) {
        let wallClock = Timestamp.current()
        let arrival = now
        var updates: [GatewayUpdate] = []
        var readings: [Reading] = []
        var forgotten: [String] = []
        var invalid = 0
        var recordTimesMs: [Int64] = []
        let isLive = feed == .caughtUp
        for record in records {
            switch record.latestStateVerdict(now: wallClock) {
            case .valid(let latest):
                updates.append(GatewayUpdate(latest, arrival: arrival))
                readings.append(latest.reading)
                if isLive, let time = record.timestampMs { recordTimesMs.append(time) }
            case .invalid: invalid += 1
            case nil: if let key = record.key { forgotten.append(String(decoding: key, as: UTF8.self)) }
            }
        }
        metrics.countReceived(valid: updates.count, invalid: invalid)
        metrics.recordDelivery(recordTimesMs: recordTimesMs, at: wallClock)
        let loops = state.withLock { state in
            for id in forgotten {
                state.latest[id] = nil
                state.log.forget(id)
                state.recent.forget(id)
            }
            for update in updates {
                state.latest[update.sensorID] = update
                state.log.append(update)
            }
            for reading in readings { state.recent.append(reading) }
            state.log.trim(arrivedBefore: arrival - maxLag)
            return Array(state.loops.values)
        }
        guard !updates.isEmpty else { return }
        for loop in loops { loop.scheduleWriting() }
    }

    /// Closes the clients that fell too far behind while no update arrived to notice it: the follower calls it after
    /// every poll that found nothing (about every 100 ms while the topic is quiet).
    package func sweep() {
        for loop in state.withLock({ Array($0.loops.values) }) { loop.scheduleWriting() }
    }

    /// `GET /api/history`'s body: the recent readings since `since` of the sensors `subscription` selects.
    package func recentReadings(selecting subscription: GatewaySubscription, since: Timestamp) -> [UInt8] {
        // A copy that shares its storage: encoded outside the lock, which `publish` waits for.
        let recent = state.withLock { $0.recent }
        return recent.json(selecting: subscription, since: since)
    }

    /// How many sensors have a latest state now.
    package var sensorCount: Int { state.withLock { $0.latest.count } }
}


extension GatewayHub {
    package static let topic = ConnectionSettings.latestTopic

    /// Feeds the hub from `speed-latest`, read from its beginning (a compacted topic: about one record per sensor)
    /// on the follower's own thread, and sweeps for clients fallen behind whenever the topic is quiet; says in `notes`
    /// when the brokers cannot be reached, and calls `gaveUp` when none answered within `connectTimeout` at startup.
    package func follow(
        _ configuration: KafkaConfiguration, connectTimeout: Duration, notes: Notes,
        gaveUp: @escaping @Sendable (KafkaError) -> Void
    ) throws(KafkaError) -> TopicFollower {
        try TopicFollower(
            configuration: configuration, topic: Self.topic, start: .beginning, connectTimeout: connectTimeout,
            records: publish,
            stateChanged: { [self] state in
                feedChanged(to: state)
                switch state {
                case .unreachable(let reason): notes.note("speedo gateway: \(Self.topic): \(reason); retrying")
                case .gaveUp(let error): gaveUp(error)
                case .connecting, .caughtUp: break
                }
            },
            idle: { [self] in sweep() },
            heartbeat: heartbeat)
    }
}
