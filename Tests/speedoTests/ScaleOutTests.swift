import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// Several `speedo consume postgres` processes in one group share the topic's partitions, and members joining,
/// dying (kill -9) and leaving (SIGTERM) mid-stream neither lose nor duplicate a row: a 3-broker mock cluster, a
/// 6-partition topic, a private PostgreSQL, real binaries.
@Suite(.serialized, .programTurnsAhead) struct ScaleOutTests {
    /// SPEEDO_TEST_SCALE_RECORDS sets the record count.
    @Test func membersJoiningAndLeavingMidStreamStoreEveryRecordOnce() async throws {
        let count = ProcessInfo.processInfo.environment["SPEEDO_TEST_SCALE_RECORDS"].flatMap { Int($0) } ?? 200_000
        let stack = try await HistoryStack(partitions: 6, brokers: 3)
        let readings = makeReadings(count: count, sensors: 600, seed: 23)
        // A live stream long enough for every membership change below to happen while it flows.
        let producing = Task { try await runOnDedicatedThread { try stack.produce(readings, over: .seconds(30)) } }
        let arguments = stack.consumeArguments(["--batch-size", "5000"])

        let first = try BackgroundSpeedo(stack.speedo, arguments)
        try await waitUntil(timeout: .seconds(30), "the first member's rows") { try await stack.storedRecords() > 0 }
        let second = try BackgroundSpeedo(stack.speedo, arguments)
        let third = try BackgroundSpeedo(stack.speedo, arguments)
        // Each newcomer is given a share of the partitions (the first member gives up its share meanwhile).
        try await waitUntil(timeout: .seconds(30), "a share for both new members") {
            second.hasBeenAssignedPartitions && third.hasBeenAssignedPartitions
        }
        let beforeKill = try await stack.storedRecords()
        try await waitUntil(timeout: .seconds(20), "progress with three members") {
            try await stack.storedRecords() > beforeKill
        }
        second.kill9()
        let afterKill = try await stack.storedRecords()
        // The dead member's partitions move on once its session times out (3 s).
        try await waitUntil(timeout: .seconds(30), "progress after the kill") {
            try await stack.storedRecords() > afterKill
        }
        kill(third.process.processIdentifier, SIGTERM)
        let thirdStatus = try await third.wait(timeout: .seconds(30))
        #expect(thirdStatus == 0, "the member stopped by SIGTERM did not stop cleanly: \(third.stderr)")
        let atLastChange = try await stack.storedRecords()

        try await producing.value
        try await waitUntil(timeout: .seconds(60), "every record stored by the last member") {
            try await stack.storedRecords() == count
        }
        kill(first.process.processIdentifier, SIGTERM)
        let firstStatus = try await first.wait(timeout: .seconds(30))
        #expect(firstStatus == 0, "the first member did not stop cleanly: \(first.stderr)")

        #expect(atLastChange < count, "the membership changes should happen mid-stream (\(atLastChange) of \(count))")
        #expect(try stack.lowWatermarks().values.allSatisfy { $0 == 0 }, "the mock broker dropped old records")
        let stored = try await stack.stored()
        #expect(
            stored == StoredSummary(rows: count, keys: count, speedSum: speedSum(readings)),
            "\(stored); the first member said: \(first.stderr)")
        #expect(try await stack.storedOffsets() == (try stack.highWatermarks()))
    }
}

extension HistoryStack {
    /// Records accounted for by the group's stored offsets (every record here is valid, so each is one row): a cheap
    /// progress measure to poll, where counting rows would scan the table.
    func storedRecords(group: String = "speedo-history") async throws -> Int {
        let row = try await query(
            "SELECT coalesce(sum(next_offset), 0) AS records FROM speedo_consumer_offsets WHERE group_id = '\(group)'")
        return try #require(try row.first?.int("records"))
    }
}

extension BackgroundSpeedo {
    /// True once the process has said it was assigned at least one partition ("assigned … partitions 0@123, …").
    var hasBeenAssignedPartitions: Bool {
        stderr.split(separator: "\n").contains { $0.hasPrefix("speedo: assigned ") && $0.contains("@") }
    }
}
