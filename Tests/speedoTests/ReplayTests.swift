import Foundation
import SpeedoCore
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `speedo replay` against librdkafka's mock cluster, which cannot look offsets up by time: every run goes through
/// the scan-and-filter fallback.
@Suite(.serialized, .programTurnsAhead) struct ReplayTests {
    func replay(_ stack: HistoryStack, _ arguments: [String], topic: String? = nil) async throws -> ProgramOutcome {
        try await stack.speedo.run(
            ["replay", "-b", stack.cluster.bootstrapServers, "-t", topic ?? stack.topic, "-d", stack.databaseURL]
                + arguments)
    }

    func lines(_ readings: some Sequence<Reading>) -> [String] {
        readings.map { String(decoding: CanonicalJSON.encode($0), as: UTF8.self) }
    }

    func arguments(since: Timestamp, until: Timestamp) -> [String] {
        ["--since", "@" + CanonicalJSON.epochSeconds(since), "--until", "@" + CanonicalJSON.epochSeconds(until)]
    }

    @Test func theTimeRangeSelectsExactlyItsRecordsAcrossPartitions() async throws {
        let stack = try await HistoryStack(partitions: 4)
        let readings = makeReadings(count: 600, sensors: 12)
        try stack.produce(readings)
        let selected = Array(readings[150..<420])
        let range = arguments(since: selected.first!.timestamp, until: readings[420].timestamp)

        let run = try await replay(stack, range)
        #expect(run.status == 0, "\(run.stderr)")
        let output = run.stdout.split(separator: "\n").map(String.init)
        #expect(output.sorted() == lines(selected).sorted())
        // Each sensor's readings keep their order.
        for sensor in Set(selected.map(\.sensorID)) {
            let mine = output.filter { $0.contains(#""sensor_id":"\#(sensor)""#) }
            #expect(mine == lines(selected.filter { $0.sensorID == sensor }))
        }
        #expect(run.stderr.contains("speedo replay: 270 readings of"), "\(run.stderr)")

        let filtered = try await replay(stack, range + ["--sensor", "sensor-3", "--sensor", "sensor-7", "--format", "csv"])
        #expect(filtered.status == 0, "\(filtered.stderr)")
        let rows = filtered.stdout.split(separator: "\n").map(String.init)
        #expect(rows.first == "sensor_id,speed,ts")
        let expected = selected.filter { $0.sensorID == "sensor-3" || $0.sensorID == "sensor-7" }
        #expect(rows.dropFirst().sorted() == expected.map {
            "\($0.sensorID),\(Int($0.speed)),\($0.timestamp.rfc3339)"
        }.sorted())

        // An --until in the future ends at the end of each partition as of the start.
        let open = try await replay(stack, arguments(
            since: selected.first!.timestamp, until: Timestamp(microseconds: readings.last!.timestamp.microseconds + 3_600_000_000)))
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stdout.split(separator: "\n").count == readings.count - 150)
    }

    @Test func replayingIntoPostgresTwiceStoresEachRowOnce() async throws {
        let stack = try await HistoryStack(partitions: 3)
        let readings = makeReadings(count: 900, sensors: 9, seed: 4)
        try stack.produce(readings)
        let selected = Array(readings[100..<700])
        let range = arguments(since: selected.first!.timestamp, until: readings[700].timestamp)

        let first = try await replay(stack, range + ["--to", "postgres"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("stored 600 rows (600 new, 0 already there)"), "\(first.stderr)")
        let second = try await replay(stack, arguments(since: readings[0].timestamp, until: readings[800].timestamp) + ["--to", "postgres"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("stored 800 rows (200 new, 600 already there)"), "\(second.stderr)")
        let expected = Array(readings[..<800])
        #expect(try await stack.stored() == StoredSummary(rows: 800, keys: 800, speedSum: speedSum(expected)))
        let stored = try await stack.query("SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS us, speed FROM speed_readings")
        let rows = Set(stored.map { "\($0["sensor_id"]!)|\($0["us"]!)|\($0["speed"]!)" })
        #expect(rows == Set(expected.map { "\($0.sensorID)|\($0.timestamp.microseconds)|\(Int($0.speed))" }))
        // No consumer group's offsets were stored or moved.
        #expect(try await stack.query("SELECT * FROM speedo_consumer_offsets").isEmpty)
    }

    @Test func aPacedReplayOntoAnotherTopicKeepsTheCadenceAndTheOrder() async throws {
        let stack = try await HistoryStack(partitions: 3)
        // A 2-second recording: 4 sensors, one reading each every 200 ms, ten minutes ago.
        let start = (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000
        let readings = (0..<44).map { index in
            Reading(
                sensorID: "car-\(index % 4)", speed: Double(index),
                timestamp: Timestamp(microseconds: start + Int64(index / 4) * 200_000))
        }
        try stack.produce(readings)
        let range = arguments(since: Timestamp(microseconds: start), until: Timestamp(microseconds: start + 3_000_000))

        let began = ContinuousClock.now
        let paced = try await replay(stack, range + ["--to", "topic:replayed", "--pace", "20x"])
        let elapsed = ContinuousClock.now - began
        #expect(paced.status == 0, "\(paced.stderr)")
        // 2 s at 20x is 0.1 s of playback; startup and the scan come on top.
        #expect(elapsed >= .milliseconds(100) && elapsed < .seconds(20), "\(elapsed)")
        let playback = try #require(
            paced.stderr.firstRange(of: /played back over (\d+\.\d+) s/).map { Double(paced.stderr[$0].split(separator: " ")[3])! },
            "\(paced.stderr)")
        #expect(playback >= 0.095 && playback < 0.6, "\(paced.stderr)")

        let copied = try await replay(stack, range, topic: "replayed")
        #expect(copied.status == 0, "\(copied.stderr)")
        let output = copied.stdout.split(separator: "\n").map(String.init)
        #expect(output.sorted() == lines(readings).sorted())
        for sensor in ["car-0", "car-1", "car-2", "car-3"] {
            #expect(output.filter { $0.contains(#""\#(sensor)""#) } == lines(readings.filter { $0.sensorID == sensor }))
        }
    }

    @Test func validatesItsOptions() async throws {
        let speedo = SpeedoBinary(environment: ["SPEEDO_BROKERS": "127.0.0.1:1"])
        for arguments in [
            ["replay"], ["replay", "--since", "1h", "--until", "2h"], ["replay", "--since", "1h", "--to", "file"],
            ["replay", "--since", "1h", "--to", "topic:"], ["replay", "--since", "1h", "--pace", "0x"],
            ["replay", "--since", "1h", "--pace", "fast"],
        ] {
            #expect(try await speedo.run(arguments).status == 64, "\(arguments)")
        }
    }
}
