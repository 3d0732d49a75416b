import Foundation
import SpeedoCore
import SpeedoTestSupport
import Testing

/// The demo pipeline end to end, every part the real binary: `simulate` publishes a fleet's drive while
/// `consume postgres` and `consume latest` run; then every reading the broker confirmed is in PostgreSQL exactly
/// once, `watch --once` shows every sensor, `history` answers for each, and `replay` returns what the database holds.
@Suite(.programTurns) struct FullPipelineTests {
    @Test func everySimulatedReadingReachesEveryView() async throws {
        let stack = try await HistoryStack()
        try stack.cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 3)
        let brokers = stack.cluster.bootstrapServers
        let historyWriter = try BackgroundSpeedo(stack.speedo, stack.consumeArguments())
        let latest = try BackgroundSpeedo(
            stack.speedo,
            ["consume", "latest", "-b", brokers, "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300"])

        let sensors = (0..<20).map { "sensor-\($0)" }
        let began = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        let simulation = try await stack.speedo.run(
            ["simulate", "--sensors", "20", "--rate", "10", "--duration", "6s", "--seed", "42", "-b", brokers],
            timeout: .seconds(60))
        #expect(simulation.status == 0, "\(simulation.stderr)")
        let confirmed = try #require(Int(
            simulation.stderr.firstMatch(of: /(\d[\d,]*) readings confirmed by the broker/)?.1
                .replacingOccurrences(of: ",", with: "") ?? ""))
        #expect(confirmed > 1_000)

        // What the broker holds, read by an independent client: the ground truth.
        let onTopic = try await runProgram(
            ["kcat", "-C", "-b", brokers, "-t", stack.topic, "-e", "-q", "-o", "beginning", "-f", "%s\n"])
        let now = Timestamp(microseconds: Int64(Date().timeIntervalSince1970 * 1_000_000))
        let produced = onTopic.stdout.split(separator: "\n").map { line in
            guard case .success(let reading) = ReadingDecoder.decode(value: Array(line.utf8), now: now)
            else { preconditionFailure("not a reading on the topic: \(line)") }
            return reading
        }
        #expect(produced.count == confirmed)
        #expect(Set(produced.map(\.sensorID)) == Set(sensors))

        // History: exactly once.
        try await waitUntil(timeout: .seconds(60), "the history writer to store \(confirmed) rows") {
            try await stack.stored().rows >= confirmed
        }
        try await Task.sleep(for: .milliseconds(500))
        let stored = try await storedReadings(stack)
        #expect(stored.count == produced.count, "rows in speed_readings")
        #expect(Set(stored) == Set(produced.map(Self.key)), "speed_readings holds exactly what the broker confirmed")

        // The dashboard: every sensor, from speed-latest.
        var frame = ""
        try await waitUntil(timeout: .seconds(30), "watch --once to show all 20 sensors") {
            frame = try await stack.speedo.run(["watch", "--once", "-b", brokers, "--columns", "160"]).stdout
            return sensors.allSatisfy { frame.contains($0) }
        }
        #expect(!frame.contains("\u{1B}"), "--once must print plain text")

        // History answers for each sensor with its readings.
        let since = "@\(began.seconds - 5)"
        for sensor in sensors {
            let answer = try await stack.speedo.run(
                ["history", sensor, "--since", since, "--format", "csv", "-d", stack.databaseURL])
            #expect(answer.status == 0, "\(answer.stderr)")
            let rows = answer.stdout.split(separator: "\n").dropFirst()
            #expect(rows.count == produced.filter { $0.sensorID == sensor }.count, "history of \(sensor)")
        }

        // Replay returns the same readings as the database.
        let replayed = try await stack.speedo.run(["replay", "--since", since, "-b", brokers])
        #expect(replayed.status == 0, "\(replayed.stderr)")
        let replayedKeys = replayed.stdout.split(separator: "\n").map { line in
            guard case .success(let reading) = ReadingDecoder.decode(value: Array(line.utf8), now: now)
            else { preconditionFailure("replay printed something that is not a reading: \(line)") }
            return Self.key(reading)
        }
        #expect(replayedKeys.count == produced.count)
        #expect(Set(replayedKeys) == Set(stored))

        historyWriter.kill9()
        latest.kill9()
    }

    /// A reading as comparable text: sensor, microseconds, speed.
    private static func key(_ reading: Reading) -> String {
        "\(reading.sensorID)|\(reading.timestamp.microseconds)|\(reading.speed)"
    }

    private func storedReadings(_ stack: HistoryStack) async throws -> [String] {
        try await stack.query(
            "SELECT sensor_id, speed, (extract(epoch FROM ts) * 1000000)::bigint AS micros FROM speed_readings"
        ).map { row in
            "\(try #require(row.string("sensor_id")))|\(try #require(try row.int("micros")))|\(try #require(try row.double("speed")))"
        }
    }
}
