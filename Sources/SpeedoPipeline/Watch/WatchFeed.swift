import Dispatch
package import SpeedoCore
package import SpeedoKafka
package import SpeedoRuntime
package import SpeedoTUI
import Synchronization

/// Which topic `watch` reads, and what its records hold.
package enum WatchSource: String, CaseIterable, Sendable {
    /// `speed-latest`: each sensor's latest state (`LatestState`); the sample is its reading.
    case latest
    /// `speed-events`: every reading.
    case events
}

/// What `watch` says about the feed when it exits.
package struct WatchFeedSummary: Sendable, Hashable {
    /// Valid readings taken off the topic (whether or not `--sensors` selected them).
    package var readings: Int
    /// Records that were not valid readings (or states), skipped.
    package var invalidRecords: Int
    /// From `start` to `stop` (or to now, while following).
    package var seconds: Double
    /// Over the whole run, counting only readings that arrived live (not the back-fill); nil when there were none.
    package var lagP50Milliseconds: Double?
    package var lagP99Milliseconds: Double?
}

/// `watch --once` could not read the topic in time.
package struct WatchFeedError: SpeedoFailure, Error, CustomStringConvertible, Sendable {
    package enum Code: Sendable {
        case unreachable
        case timedOut
    }

    package var code: Code
    package var description: String
    package var exitCode: SpeedoExitCode { .unavailable }
}

/// The data side of `speedo watch`: follows the topic with a `TopicFollower` (on its thread), turns records into
/// `Reading`s (undecodable ones are counted and skipped), keeps those `--sensors` selects, and measures rate and
/// lag for the status line.
package final class WatchFeed: Sendable {
    private struct Running {
        var follower: TopicFollower?
        var startedAt: Timestamp?
        var stoppedAt: Timestamp?
        /// No broker answered within the connect timeout: the feed ended.
        var failure: KafkaError?
    }

    /// Everything the follower's thread updates per batch, read by `summary` from elsewhere.
    private struct Tally {
        var meter: FeedMeter
        var readings = 0
        var invalidRecords = 0
        var connection = FeedStatus.Connection.connecting
        var lastStatusAt = Timestamp(microseconds: 0)
        var selection: SensorSelection
    }

    private let configuration: KafkaConfiguration
    private let brokers: String
    private let topic: String
    private let source: WatchSource
    private let backfill: TimeSpan
    private let connectTimeout: Duration
    private let running = Mutex(Running())
    private let tally: Mutex<Tally>

    /// Status at most this often while records flow (state changes go out at once).
    private static let statusInterval = TimeSpan(microseconds: 250_000)

    package init(
        configuration: KafkaConfiguration, brokers: String, topic: String, source: WatchSource, backfill: TimeSpan,
        sensors: SensorGlob?, connectTimeout: Duration
    ) {
        (self.configuration, self.brokers, self.topic) = (configuration, brokers, topic)
        (self.source, self.backfill, self.connectTimeout) = (source, backfill, connectTimeout)
        tally = Mutex(Tally(meter: FeedMeter(startedAt: Timestamp.current()), selection: SensorSelection(sensors)))
    }

    deinit {
        stop()
    }

    /// Follows the topic on its own thread: speed-latest from the beginning (every sensor's last state); speed-events
    /// from now − backfill (the sparkline back-fill). Callbacks come from that thread. A configuration librdkafka
    /// rejects is reported as `.unreachable` with the reason.
    package func start(
        samples: @escaping @Sendable ([Reading]) -> Void, status: @escaping @Sendable (FeedStatus) -> Void
    ) {
        let now = Timestamp.current()
        tally.withLock { $0.meter = FeedMeter(startedAt: now) }
        running.withLock { $0.startedAt = now }
        // The feed reports broker trouble in the status line; librdkafka's own lines would scribble over the screen.
        KafkaLog.show(upTo: .critical)
        do throws(KafkaError) {
            let follower = try TopicFollower(
                configuration: configuration, topic: topic, start: startPosition(now: now),
                connectTimeout: connectTimeout,
                records: { [self] records in
                    let (batch, due) = take(records)
                    if !batch.isEmpty { samples(batch) }
                    if let due { status(due) }
                },
                stateChanged: { [self] state in status(changed(to: state)) },
                idle: { [self] in if let due = statusIfDue() { status(due) } })
            running.withLock { $0.follower = follower }
        } catch {
            status(changed(to: .unreachable(reason: error.description)))
        }
    }

    /// Set once no broker answered within the connect timeout at startup: the feed reads nothing more, and whoever
    /// shows it should end with this error (`.noBrokersAvailable`, exit 69).
    package var failure: KafkaError? { running.withLock { $0.failure } }

    package func stop() {
        let follower = running.withLock { running in
            defer { running.follower = nil }
            if running.follower != nil { running.stoppedAt = Timestamp.current() }
            return running.follower
        }
        follower?.stop()
    }

    /// `watch --once`: reads from the same start point to the end of every partition as of now, then returns (throws a
    /// typed error, exit 69, if no broker answered within `connectTimeout`, or reading took longer than `timeout`
    /// after that).
    package static func catchUp(
        configuration: KafkaConfiguration, brokers: String, topic: String, source: WatchSource, backfill: TimeSpan,
        sensors: SensorGlob?, connectTimeout: Duration, timeout: Duration, notes: Notes
    ) throws -> (samples: [Reading], status: FeedStatus) {
        struct Outcome {
            var samples: [Reading] = []
            var status: FeedStatus
            var isCaughtUp = false
        }
        let feed = WatchFeed(
            configuration: configuration, brokers: brokers, topic: topic, source: source, backfill: backfill,
            sensors: sensors, connectTimeout: connectTimeout)
        let outcome = Mutex(Outcome(status: FeedStatus(brokers: brokers, topic: topic)))
        let caughtUp = DispatchSemaphore(value: 0)
        // Both callbacks come from the follower's thread, so nothing handed over after the catch-up slips in.
        feed.start(
            samples: { batch in outcome.withLock { if !$0.isCaughtUp { $0.samples += batch } } },
            status: { status in
                let (changed, reachedEnd) = outcome.withLock { outcome in
                    let changed = outcome.status.connection != status.connection
                    guard !outcome.isCaughtUp else { return (changed, false) }
                    outcome.status = status
                    outcome.isCaughtUp = status.connection == .live
                    return (changed, outcome.isCaughtUp)
                }
                if changed, case .unreachable(let reason) = status.connection, feed.failure == nil {
                    notes.note("speedo watch: \(topic): \(reason); retrying")
                }
                if reachedEnd || feed.failure != nil { caughtUp.signal() }
            })
        let waited = connectTimeout + timeout
        let finished = caughtUp.wait(timeout: .now() + .milliseconds(Int(waited.clampedMilliseconds))) == .success
        feed.stop()
        if let failure = feed.failure { throw failure }
        let result = outcome.withLock { $0 }
        guard finished else {
            if case .unreachable(let reason) = result.status.connection {
                throw WatchFeedError(
                    code: .unreachable,
                    description: "cannot read \(topic) from the brokers at \(brokers) (gave up after \(waited)): \(reason)")
            }
            throw WatchFeedError(
                code: .timedOut,
                description: "reading \(topic) from the brokers at \(brokers) did not finish within \(waited); "
                    + "is the topic very large, or the broker slow? try a shorter --window")
        }
        return (result.samples, result.status)
    }

    /// For the exit summary: readings taken, seconds followed, lag p50/p99 (ms) over the whole run.
    package var summary: WatchFeedSummary {
        let (startedAt, stoppedAt) = running.withLock { ($0.startedAt, $0.stoppedAt) }
        let seconds = startedAt.map { ((stoppedAt ?? Timestamp.current()) - $0).seconds } ?? 0
        return tally.withLock { tally in
            WatchFeedSummary(
                readings: tally.readings, invalidRecords: tally.invalidRecords, seconds: seconds,
                lagP50Milliseconds: tally.meter.wholeRun.percentile(0.5),
                lagP99Milliseconds: tally.meter.wholeRun.percentile(0.99))
        }
    }

    private func startPosition(now: Timestamp) -> TopicFollower.Start {
        switch source {
        case .latest: .beginning
        case .events: .since(now - backfill)
        }
    }

    /// Decodes a batch (one clock reading for all of it: they arrived together); returns the selected samples and
    /// the status, when one is due.
    private func take(_ records: [ConsumedRecord]) -> ([Reading], FeedStatus?) {
        let now = Timestamp.current()
        return tally.withLock { tally in
            var samples: [Reading] = []
            samples.reserveCapacity(records.count)
            // Before the catch-up, a record's age says how far back the back-fill reaches, not how late it came.
            let isLive = tally.connection == .live
            for record in records {
                guard let reading = reading(in: record, now: now) else {
                    tally.invalidRecords += 1
                    continue
                }
                tally.readings += 1
                tally.meter.record(lagMilliseconds: isLive ? record.timestampMs.map { now.milliseconds - $0 } : nil, at: now)
                if tally.selection.selects(reading.sensorID) {
                    samples.append(reading)
                }
            }
            return (samples, Self.statusIfDue(&tally, now: now, brokers: brokers, topic: topic))
        }
    }

    /// The record's reading under the record contract every consumer applies; nil for an invalid record (or a
    /// tombstone of speed-latest).
    private func reading(in record: ConsumedRecord, now: Timestamp) -> Reading? {
        switch source {
        case .events:
            if case .valid(let reading) = record.verdict(now: now) { reading } else { nil }
        case .latest:
            if case .valid(let state) = record.latestStateVerdict(now: now) { state.reading } else { nil }
        }
    }

    private func changed(to state: TopicFollower.State) -> FeedStatus {
        if case .gaveUp(let error) = state { running.withLock { $0.failure = error } }
        let now = Timestamp.current()
        return tally.withLock { tally in
            switch state {
            case .connecting: tally.connection = .connecting
            case .caughtUp: tally.connection = .live
            case .unreachable(let reason): tally.connection = .unreachable(reason: reason)
            case .gaveUp(let error): tally.connection = .unreachable(reason: error.message)
            }
            return Self.status(&tally, now: now, brokers: brokers, topic: topic)
        }
    }

    private func statusIfDue() -> FeedStatus? {
        let now = Timestamp.current()
        return tally.withLock { Self.statusIfDue(&$0, now: now, brokers: brokers, topic: topic) }
    }

    private static func statusIfDue(_ tally: inout Tally, now: Timestamp, brokers: String, topic: String) -> FeedStatus? {
        now - tally.lastStatusAt >= statusInterval ? status(&tally, now: now, brokers: brokers, topic: topic) : nil
    }

    private static func status(_ tally: inout Tally, now: Timestamp, brokers: String, topic: String) -> FeedStatus {
        tally.lastStatusAt = now
        let recent = tally.meter.recent(at: now)
        return FeedStatus(
            brokers: brokers, topic: topic, connection: tally.connection, readingsPerSecond: recent.readingsPerSecond,
            lagP50Milliseconds: recent.lagP50Milliseconds, lagP99Milliseconds: recent.lagP99Milliseconds)
    }
}

/// `--sensors`, with the verdict per sensor id remembered: the same few ids come again and again, and matching a
/// glob costs more than a dictionary lookup.
private struct SensorSelection {
    private let glob: SensorGlob?
    private var verdicts: [String: Bool] = [:]
    /// Sensor ids come from the topic, which anybody may write to: the memory stays bounded whatever they hold.
    private static let rememberedLimit = 100_000

    init(_ glob: SensorGlob?) {
        self.glob = glob
    }

    mutating func selects(_ sensorID: String) -> Bool {
        guard let glob else { return true }
        if let verdict = verdicts[sensorID] { return verdict }
        if verdicts.count >= Self.rememberedLimit { verdicts.removeAll(keepingCapacity: true) }
        let verdict = glob.matches(sensorID)
        verdicts[sensorID] = verdict
        return verdict
    }
}

extension WatchFeedSummary {
    /// `speedo watch: 12,345 readings from speed-events in 60.0 s (205/s); delivery lag p50 4 ms, p99 21 ms`.
    package func line(topic: String) -> String {
        func milliseconds(_ value: Double?) -> String { value.map { "\(grouped(Int($0.rounded()))) ms" } ?? "-" }
        let rate = seconds > 0 ? Int((Double(readings) / seconds).rounded()) : 0
        let skipped = invalidRecords > 0 ? "; \(grouped(invalidRecords)) invalid records skipped" : ""
        return "speedo watch: \(grouped(readings)) readings from \(topic) in "
            + "\(String(format: "%.1f", seconds)) s (\(grouped(rate))/s); "
            + "delivery lag p50 \(milliseconds(lagP50Milliseconds)), p99 \(milliseconds(lagP99Milliseconds))"
            + skipped
    }
}

extension WatchFeed {
    /// `watch --once`: one frame of the dashboard as plain text, `columns` wide, once the feed caught up with the
    /// window (or `timeout` passed). Blocks.
    package static func plainTextFrame(
        settings: DashboardSettings, configuration: KafkaConfiguration, brokers: String, topic: String,
        source: WatchSource, columns: Int, connectTimeout: Duration, timeout: Duration, notes: Notes
    ) throws -> String {
        let caughtUp = try catchUp(
            configuration: configuration, brokers: brokers, topic: topic, source: source, backfill: settings.window,
            sensors: settings.sensorFilter, connectTimeout: connectTimeout, timeout: timeout, notes: notes)
        var model = DashboardModel(settings: settings)
        model.record(caughtUp.samples)
        return model.fullFrame(
            columns: columns, now: Timestamp.current(), status: caughtUp.status, capabilities: .plainText).plainText
    }
}
