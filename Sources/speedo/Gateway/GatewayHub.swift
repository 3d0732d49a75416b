import NIOCore
import SpeedoCore
import SpeedoKafka
import Synchronization

/// One sensor's latest state, encoded once for every client that gets it (the buffers are shared, not copied).
struct GatewayUpdate: Sendable {
    let sensorID: String
    /// The `speed-latest` value as `LatestState.encoded()` writes it.
    let json: ByteBuffer
    /// The bare speed, e.g. `42.5`.
    let number: ByteBuffer

    init(_ state: LatestState) {
        sensorID = state.reading.sensorID
        json = ByteBuffer(bytes: state.encoded())
        var speed: [UInt8] = []
        CanonicalJSON.appendNumber(state.reading.speed, to: &speed)
        number = ByteBuffer(bytes: speed)
    }

    func payload(_ format: GatewaySubscription.Format) -> ByteBuffer {
        switch format {
        case .json: json
        case .number: number
        }
    }
}

/// How the feed from `speed-latest` is doing, for `GET /healthz`.
typealias GatewayFeedStatus = TopicFollower.State

/// The latest state of every sensor, and the clients to tell about changes.
///
/// `publish` runs on the Kafka thread and never waits for a client: it puts each update into the mailbox of every
/// client that selected its sensor (a lock held for a few dictionary operations) and wakes the client's writer.
/// A client whose oldest undelivered update has waited longer than `maxLag` is closed.
final class GatewayHub: Sendable {
    private struct State {
        var latest: [String: GatewayUpdate] = [:]
        var mailboxes: [ObjectIdentifier: GatewayMailbox] = [:]
        var feed = GatewayFeedStatus.connecting
    }

    private let state = Mutex(State())
    let maxLag: Duration
    let metrics: GatewayMetrics
    private let clock = ContinuousClock()
    private let origin: ContinuousClock.Instant

    init(maxLag: Duration, metrics: GatewayMetrics) {
        self.maxLag = maxLag
        self.metrics = metrics
        origin = clock.now
    }

    private var now: Duration { clock.now - origin }

    var feed: GatewayFeedStatus { state.withLock { $0.feed } }

    var connectionCount: Int { state.withLock { $0.mailboxes.count } }

    func feedChanged(to status: GatewayFeedStatus) {
        state.withLock { $0.feed = status }
    }

    /// Adds a client and queues, as its first messages, the latest state of every sensor it selected (by sensor id),
    /// atomically with respect to `publish`: no update is missed or sent twice.
    func register(_ mailbox: GatewayMailbox) {
        let count = state.withLock { state in
            state.mailboxes[ObjectIdentifier(mailbox)] = mailbox
            let snapshot = state.latest.keys.sorted().compactMap { state.latest[$0] }
            _ = mailbox.offer(snapshot, now: now)
            return state.mailboxes.count
        }
        metrics.connectionsChanged(to: count)
    }

    func unregister(_ mailbox: GatewayMailbox) {
        let count = state.withLock { state in
            state.mailboxes[ObjectIdentifier(mailbox)] = nil
            return state.mailboxes.count
        }
        metrics.connectionsChanged(to: count)
    }

    /// Records from `speed-latest`, in order. A value that is not a latest state is counted and skipped; a tombstone
    /// (null value) forgets the sensor, so that new clients no longer get it.
    func publish(_ records: [ConsumedRecord]) {
        let wallClock = Timestamp.current()
        var updates: [GatewayUpdate] = []
        var forgotten: [String] = []
        var invalid = 0
        for record in records {
            guard let value = record.value else {
                if let key = record.key { forgotten.append(String(decoding: key, as: UTF8.self)) }
                continue
            }
            switch LatestState.decode(value, now: wallClock) {
            case .success(let latest): updates.append(GatewayUpdate(latest))
            case .failure: invalid += 1
            }
        }
        metrics.countReceived(valid: updates.count, invalid: invalid)
        let mailboxes = state.withLock { state in
            for id in forgotten { state.latest[id] = nil }
            for update in updates { state.latest[update.sensorID] = update }
            return Array(state.mailboxes.values)
        }
        guard !updates.isEmpty else { return }
        let now = self.now
        var coalesced = 0
        for mailbox in mailboxes {
            let outcome = mailbox.offer(updates, now: now)
            coalesced += outcome.coalesced
            if outcome.waited > maxLag { closeLagging(mailbox, waited: outcome.waited) }
        }
        metrics.countCoalesced(coalesced)
    }

    /// Closes the clients that fell too far behind while no update arrived to notice it.
    func sweep() {
        let now = self.now
        for mailbox in state.withLock({ Array($0.mailboxes.values) }) {
            let waited = mailbox.waited(now: now)
            if waited > maxLag { closeLagging(mailbox, waited: waited) }
        }
    }

    /// How many sensors have a latest state now.
    var sensorCount: Int { state.withLock { $0.latest.count } }

    private func closeLagging(_ mailbox: GatewayMailbox, waited: Duration) {
        let milliseconds = waited / .milliseconds(1)
        let limit = maxLag / .milliseconds(1)
        // A close reason has room for 123 bytes.
        if mailbox.close(code: .policyViolation, reason: "too slow: \(Int(milliseconds)) ms behind, limit \(Int(limit)) ms") {
            metrics.countDropped()
        }
    }
}
