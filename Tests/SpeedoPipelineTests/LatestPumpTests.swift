import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// `LatestPump` (`speedo consume latest`) in process against the mock cluster, driven only through its settings.
@Suite struct LatestPumpTests {
    /// One sensor sends far more readings than the rate allows: `speed-latest` gets at most one state per
    /// `emissionInterval` for it (plus the first, at once, and the one held back when the pump stops), and the last
    /// state carries the newest reading.
    @Test func aBusySensorsStatesStayWithinTheRateAndTheLastIsTheNewest() async throws {
        let cluster = try MockCluster()
        let topic = "latest-rate"
        try cluster.createTopic(name: topic, partitions: 3)
        try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 3)
        try cluster.createTopic(name: ConnectionSettings.deadLetterTopic(for: topic), partitions: 1)
        let interval = Duration.milliseconds(200)
        let stop = StopRequest()
        let settings = LatestPumpSettings(
            consumer: ConsumeSettings(
                kafka: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), topic: topic, exitAtEnd: false,
                connectTimeout: .seconds(30), stop: stop, notes: Notes { _ in }),
            group: "latest-rate", windowSeconds: 60, emissionInterval: interval)
        let running = Task {
            try await runOnDedicatedThread(name: "speedo-test") {
                var pump = try LatestPump(settings: settings)
                return try pump.run() == .stopped
            }
        }
        // Whatever fails below, the pump's thread ends.
        defer { stop.request() }

        // Once a first reading came through, the pump is in its group and reading: what follows is a live stream.
        let start = (Int64(Date().timeIntervalSince1970) - 3_600) * 1_000_000
        let warmUp = Reading(sensorID: "warm-up", speed: 1, timestamp: Timestamp(microseconds: start))
        try await runOnDedicatedThread(name: "speedo-test") {
            try produceRecords([TestRecord(warmUp)], to: topic, on: cluster)
        }
        try await waitUntil("the pump published a first state", timeout: .seconds(60)) {
            try await Self.states(of: "warm-up", on: cluster).last?.reading == warmUp
        }

        // 2,000 readings of one sensor over about two seconds, a millisecond apart by event time, ending an hour ago.
        let count = 2_000
        let readings = (0..<count).map { index in
            Reading(
                sensorID: "busy", speed: Double(index % 500),
                timestamp: Timestamp(microseconds: start + Int64(index) * 1_000))
        }
        let newest = try #require(readings.last)
        let firstProduced = ContinuousClock.now
        try await runOnDedicatedThread(name: "speedo-test") {
            try produceRecords(readings.map(TestRecord.init), to: topic, on: cluster, over: .seconds(2))
        }

        // The newest reading arrives without a stop: the held-back state is published once it is due.
        var states: [LatestState] = []
        try await waitUntil("the newest reading reached \(ConnectionSettings.latestTopic)", timeout: .seconds(60)) {
            states = try await Self.states(of: "busy", on: cluster)
            return states.last?.reading == newest
        }
        stop.request()
        #expect(try await running.value)
        let elapsed = ContinuousClock.now - firstProduced

        states = try await Self.states(of: "busy", on: cluster)
        let bound = 2 + Int(elapsed / interval)
        #expect(states.count <= bound, "\(states.count) states in \(elapsed.secondsText), at most \(bound) allowed")
        #expect(states.count >= 2, "the rate limit held back every state but the first: \(states.count)")
        #expect(states.last?.reading == newest)
        #expect(states.last?.statistics.count == count)
        // Coalesced, never reordered: each state is newer than the one before.
        #expect(zip(states, states.dropFirst()).allSatisfy { $0.reading.timestamp < $1.reading.timestamp })
    }

    /// The states of `sensor` on `speed-latest`, in the order they were published.
    private static func states(of sensor: String, on cluster: MockCluster) async throws -> [LatestState] {
        let records = try await runOnDedicatedThread(name: "speedo-test") {
            try readTopic(ConnectionSettings.latestTopic, partitions: 3, on: cluster)
        }
        let now = Timestamp.current()
        return try records.filter { $0.key == Array(sensor.utf8) }.sorted { $0.offset < $1.offset }.map {
            try LatestState.decode($0.value ?? [], now: now).get()
        }
    }
}
