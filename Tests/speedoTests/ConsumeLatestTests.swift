import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// `speedo consume latest` end to end: the real binary against an in-process mock cluster, read back with kcat.
@Suite(.programTurns) struct ConsumeLatestTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
    ])

    /// Short Kafka session timeouts, so that the mock cluster hands the partitions of a member that left to the next
    /// one within seconds.
    private static func arguments(_ cluster: MockCluster) -> [String] {
        ["consume", "latest", "-b", cluster.bootstrapServers, "--max-rate", "5", "--exit-at-end",
         "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300"]
    }

    /// The live path's settings are the ones librdkafka runs with (read back from the clients, not from speedo's own
    /// list): a 10 ms fetch wait for reading, no linger for publishing; `-X` still wins over both.
    @Test func theLivePathSettingsAreInEffect() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "speed-events", partitions: 1)
        let base = ["--log-level", "debug"] + Self.arguments(cluster)
        let tuned = try await speedo.run(base, timeout: .seconds(60))
        #expect(tuned.status == 0, "\(tuned.stderr)")
        #expect(tuned.stderr.contains("live path: fetch.wait.max.ms=10 reading, linger.ms=0 publishing"), "\(tuned.stderr)")
        let overridden = try await speedo.run(base + ["-X", "fetch.wait.max.ms=250", "-X", "linger.ms=7"], timeout: .seconds(60))
        #expect(overridden.status == 0, "\(overridden.stderr)")
        #expect(overridden.stderr.contains("live path: fetch.wait.max.ms=250 reading, linger.ms=7 publishing"), "\(overridden.stderr)")
        let quiet = try await speedo.run(Self.arguments(cluster), timeout: .seconds(60))
        #expect(!quiet.stderr.contains("live path:"), "a debug line shown at the default level: \(quiet.stderr)")
    }

    /// `--metrics-listen`: what it folded, published and sent to the dead-letter topic, its lag and partitions, and
    /// the probes; a SIGTERM stops it cleanly (0).
    @Test func metricsListenServesWhatWasPublishedAndTheProbes() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "speed-events", partitions: 2)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 2)
        try cluster.createTopic(name: "speed-events.dlq", partitions: 1)
        let start = Int64(Date().timeIntervalSince1970) - 600
        var records = (0..<200).map { index in
            TestRecord(Reading(
                sensorID: "sensor-\(index % 4)", speed: Double(index % 90),
                timestamp: Timestamp(microseconds: (start + Int64(index)) * 1_000_000)))
        }
        records.append(TestRecord(key: "sensor-0", value: #"{"sensor_id":"sensor-0","speed":-1}"#))
        try produceRecords(records, to: "speed-events", on: cluster)

        let pump = try BackgroundSpeedo(speedo, [
            "consume", "latest", "-b", cluster.bootstrapServers, "--metrics-listen", "127.0.0.1:0",
            "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300",
        ])
        let address = try await pump.metricsAddress(of: "consume latest")
        var metrics = ""
        try await waitUntil(timeout: .seconds(30), "every reading folded and no lag") {
            metrics = try await curl("http://\(address)/metrics").body
            return metricValue("speedo_latest_readings_total", in: metrics) == 200
                && metricValue("speedo_latest_lag_records", in: metrics) == 0
        }
        #expect(metricValue("speedo_latest_dead_letters_total", in: metrics) == 1, "\(metrics)")
        #expect((metricValue("speedo_latest_states_published_total", in: metrics) ?? 0) >= 4, "\(metrics)")
        #expect(metricValue("speedo_latest_assigned_partitions", in: metrics) == 2, "\(metrics)")
        #expect(metricValue("speedo_latest_sensors", in: metrics) == 4, "\(metrics)")
        let ready = try await curl("http://\(address)/readyz")
        #expect(ready.status == "200" && ready.body.contains(#""status":"ok""#), "\(ready.body)")
        #expect(try await curl("http://\(address)/livez").status == "200")

        kill(pump.process.processIdentifier, SIGTERM)
        let status = try await pump.wait(timeout: .seconds(30))
        #expect(status == 0, "consume latest did not stop cleanly: \(pump.stderr)")
    }

    @Test func aBurstLeavesEachSensorsLastReadingWithItsWindowAndStaysWithinTheRate() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "speed-events", partitions: 3)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 3)
        try cluster.createTopic(name: "speed-events.dlq", partitions: 1)
        // Two sensors, 500 readings each, 0.2 s apart by event time (100 s in all, so a 60 s window drops the first
        // 40 s), ending an hour ago; interleaved as a burst, with one record that is not a reading.
        let start = Int64(Date().timeIntervalSince1970) - 3_600 - 100
        var readings: [Reading] = []
        for index in 0..<500 {
            for (sensor, factor) in [("alpha", 1.0), ("beta", 2.0)] {
                readings.append(Reading(
                    sensorID: sensor, speed: Double((index * 37) % 401) / 2 * factor,
                    timestamp: Timestamp(microseconds: start * 1_000_000 + Int64(index) * 200_000)))
            }
        }
        var records = readings.map(TestRecord.init)
        records.insert(TestRecord(key: "alpha", value: #"{"sensor_id":"alpha","speed":-5}"#), at: 300)
        try produceRecords(records, to: "speed-events", on: cluster)

        let clock = ContinuousClock()
        let began = clock.now
        let run = try await speedo.run(
            Self.arguments(cluster),
            timeout: .seconds(60))
        let elapsed = clock.now - began
        #expect(run.status == 0, "\(run.stderr)")

        let published = try await runProgram(
            ["kcat", "-C", "-b", cluster.bootstrapServers, "-t", ConnectionSettings.latestTopic, "-e", "-q",
             "-f", "%k|%T|%s\n"],
            timeout: .seconds(20))
        #expect(published.status == 0, "\(published.stderr)")
        var bySensor: [String: [(timestampMs: Int64, value: String)]] = [:]
        for line in published.stdout.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 2).map(String.init)
            bySensor[parts[0], default: []].append((Int64(parts[1]) ?? -1, parts[2]))
        }
        #expect(Set(bySensor.keys) == ["alpha", "beta"], "\(published.stdout)")
        let now = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        for sensor in ["alpha", "beta"] {
            let own = readings.filter { $0.sensorID == sensor }
            let last = try #require(own.last)
            let lastSecond = last.timestamp.microseconds / 1_000_000
            let window = own.filter { $0.timestamp.microseconds / 1_000_000 > lastSecond - 60 }.map(\.speed)
            let states = bySensor[sensor] ?? []
            let final = try #require(states.last)
            let state = try LatestState.decode(Array(final.value.utf8), now: now).get()
            #expect(state.reading == last)
            #expect(final.timestampMs == last.timestamp.microseconds / 1_000)
            #expect(state.windowSeconds == 60)
            #expect(state.statistics.count == window.count && window.count == 300)
            #expect(state.statistics.minimum == window.min())
            #expect(state.statistics.maximum == window.max())
            #expect(abs(state.statistics.average - window.reduce(0, +) / Double(window.count)) < 1e-9)
            // At most 5 a second from the start of the run, plus the first one.
            #expect(Double(states.count) <= 5 * elapsed.inSeconds + 1, "\(states.count) in \(elapsed)")
        }
        #expect(try await topicContents(cluster, "speed-events.dlq").count == 1)
        #expect(run.stderr.contains("1,000 readings of 2 sensors"), "\(run.stderr)")

        // The group committed everything: a restart reads only what came since, and its statistics cover only that.
        let later = (500..<510).map { index in
            Reading(sensorID: "alpha", speed: Double(index), timestamp: Timestamp(
                microseconds: start * 1_000_000 + Int64(index) * 200_000))
        }
        try produceRecords(later.map(TestRecord.init), to: "speed-events", on: cluster)
        let restart = try await speedo.run(
            Self.arguments(cluster),
            timeout: .seconds(60))
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(restart.stderr.contains("10 readings of 1 sensors"), "\(restart.stderr)")
        let newest = try await runProgram(
            ["kcat", "-C", "-b", cluster.bootstrapServers, "-t", ConnectionSettings.latestTopic, "-e", "-q",
             "-f", "%k|%s\n"],
            timeout: .seconds(20))
        let alpha = try #require(newest.stdout.split(separator: "\n").last { $0.hasPrefix("alpha|") })
        let resumed = try LatestState.decode(Array(alpha.dropFirst("alpha|".count).utf8), now: now).get()
        #expect(resumed.reading == later.last)
        #expect(resumed.statistics == RollingStats.Summary(count: 10, minimum: 500, average: 504.5, maximum: 509))
    }
}
