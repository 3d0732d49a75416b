import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// `speedo watch --once` end to end: readings published by `speedo ingest` (and states by `speedo consume latest`)
/// on an in-process mock cluster, read back by the feed and printed as one plain frame.
@Suite(.programTurns) struct WatchOnceTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil, "COLUMNS": nil,
    ])

    /// The topics `speedo dev` makes (the mock cluster cannot create them on request).
    private static func cluster() throws -> MockCluster {
        let cluster = try MockCluster()
        try cluster.createTopic(name: ConnectionSettings.defaultTopic, partitions: 3)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 3)
        try cluster.createTopic(name: ConnectionSettings.deadLetterTopic(for: ConnectionSettings.defaultTopic), partitions: 1)
        return cluster
    }

    /// NDJSON readings through `speedo ingest`, each `secondsAgo` before now.
    private func ingest(_ readings: [(sensor: String, speed: Int, secondsAgo: Int)], on cluster: MockCluster) async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let lines = readings.map { #"{"sensor_id":"\#($0.sensor)","speed":\#($0.speed),"ts":\#(now - Int64($0.secondsAgo))}"# }
        let run = try await speedo.run(["ingest", "-b", cluster.bootstrapServers], input: lines.joined(separator: "\n"))
        try #require(run.status == 0, "\(run.stderr)")
    }

    private func watchOnce(_ cluster: MockCluster, _ arguments: [String]) async throws -> ProgramOutcome {
        try await speedo.run(["watch", "--once", "--columns", "100", "-b", cluster.bootstrapServers] + arguments)
    }

    /// A window wide enough that the fleet's readings are still in it however long a busy machine took to get them
    /// through `ingest` and `consume latest` (CI once took fifty seconds, and the default minute left them out).
    private static let fleetWindow = ["--window", "30m"]

    /// Two readings per sensor a second apart, the newest a few seconds old; speeds chosen so that min and max
    /// name the sensor.
    private static let fleet: [(sensor: String, speed: Int, secondsAgo: Int)] = [
        ("sensor-a", 40, 9), ("sensor-b", 87, 9), ("truck-7", 121, 9),
        ("sensor-a", 42, 8), ("sensor-b", 88, 8), ("truck-7", 123, 8),
    ]

    @Test func eventsShowEverySensorWithItsSpeedsAndSkipWhatIsNotAReading() async throws {
        let cluster = try Self.cluster()
        try await ingest(Self.fleet, on: cluster)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try produceRecords(
            [TestRecord(key: "junk", value: "not a reading", timestampMs: now)],
            to: ConnectionSettings.defaultTopic, on: cluster)

        let run = try await watchOnce(cluster, ["--source", "events"] + Self.fleetWindow)
        #expect(run.status == 0, "\(run.stderr)")
        for expected in ["sensor-a", "sensor-b", "truck-7", "min 40", "max 42", "min 87", "max 88", "min 121", "max 123"] {
            #expect(run.stdout.contains(expected), "\(expected) missing from:\n\(run.stdout)")
        }
        #expect(!run.stdout.contains("junk"))
        #expect(run.stdout.contains(ConnectionSettings.defaultTopic.prefix(8)), "\(run.stdout)")
    }

    @Test func latestShowsTheStatesThatConsumeLatestWrote() async throws {
        let cluster = try Self.cluster()
        try await ingest(Self.fleet, on: cluster)
        let latest = try await speedo.run(
            ["consume", "latest", "-b", cluster.bootstrapServers, "--exit-at-end",
             "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300"],
            timeout: .seconds(60))
        try #require(latest.status == 0, "\(latest.stderr)")

        let run = try await watchOnce(cluster, Self.fleetWindow)
        #expect(run.status == 0, "\(run.stderr)")
        // Each state carries its sensor's newest reading; the newest of all is the speed shown last.
        for expected in ["sensor-a", "sensor-b", "truck-7", "max 42", "max 88", "max 123"] {
            #expect(run.stdout.contains(expected), "\(expected) missing from:\n\(run.stdout)")
        }
    }

    @Test func sensorsGlobShowsOnlyTheSensorsItMatches() async throws {
        let cluster = try Self.cluster()
        try await ingest(Self.fleet, on: cluster)
        let run = try await watchOnce(cluster, ["--source", "events", "--sensors", "sensor-?,nothing*"] + Self.fleetWindow)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("sensor-a") && run.stdout.contains("sensor-b"), "\(run.stdout)")
        #expect(!run.stdout.contains("truck-7") && !run.stdout.contains("max 123"), "\(run.stdout)")
    }

    @Test func theWindowBackFillsEventsAndLeavesOlderReadingsOut() async throws {
        let cluster = try Self.cluster()
        // Readings from 20 and 10 minutes ago, then recent ones: a 5-minute window starts between them.
        try await ingest(
            [("ancient-1", 300, 1_200), ("sensor-a", 999, 600), ("older-2", 301, 590),
             ("sensor-a", 50, 120), ("sensor-b", 60, 60), ("sensor-a", 52, 30)],
            on: cluster)
        let run = try await watchOnce(cluster, ["--source", "events", "--window", "5m"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("sensor-a") && run.stdout.contains("sensor-b"), "\(run.stdout)")
        #expect(run.stdout.contains("min 50") && run.stdout.contains("max 52"), "\(run.stdout)")
        // "max 999", not "999": the status line names the broker's port, which may contain it.
        for older in ["ancient-1", "older-2", "max 999", "max 30"] {
            #expect(!run.stdout.contains(older), "\(older) in:\n\(run.stdout)")
        }
    }

    @Test func anUnreachableBrokerExits69AndSaysWhere() async throws {
        let cluster = try Self.cluster()
        try cluster.setBroker(1, up: false)
        let run = try await watchOnce(cluster, ["--source", "events", "--connect-timeout", "3s"])
        #expect(run.status == 69, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(
            run.stderr.contains("speedo watch: speed-events: no Kafka broker answers at \(cluster.bootstrapServers) yet (attempt 1)"),
            "\(run.stderr)")
        #expect(
            run.stderr.contains(
                "speedo: error: cannot reach Kafka at \(cluster.bootstrapServers): no broker answered within 3s"),
            "\(run.stderr)")
        #expect(run.stderr.contains("is the cluster running and reachable?"), "\(run.stderr)")
        #expect(run.elapsed < .seconds(20))
    }
}
