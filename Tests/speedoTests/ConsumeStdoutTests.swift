import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoTestSupport
import Testing

/// `speedo consume stdout` end to end: the real binary against an in-process mock cluster, fed with KafkaProducer.
@Suite(.programTurns) struct ConsumeStdoutTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
    ])

    private static let mixed = [
        TestRecord(key: "s-1", value: #"{"sensor_id":"s-1","speed":42.5,"ts":1700000000.5}"#),
        TestRecord(key: "s-2", value: #"{"sensor_id":"s-2","speed":"7","ts":1700000001}"#),
        TestRecord(key: "s-2", value: #"{"sensor_id": "s-2", "speed": 7, "ts": "2023-11-14T22:13:21Z"}"#),
        TestRecord(key: "s-3", value: #"{"sensor_id":"s-3","speed":0}"#),
    ]

    @Test func ndjsonAndCsvAreExactAndAPoisonRecordIsSkippedWithItsNote() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "mixed", partitions: 1)
        try produceRecords(Self.mixed, to: "mixed", on: cluster)
        let base = ["consume", "stdout", "-b", cluster.bootstrapServers, "-t", "mixed", "--exit-at-end"]

        let ndjson = try await speedo.run(base, timeout: .seconds(30))
        #expect(ndjson.status == 0, "\(ndjson.stderr)")
        let lines = ndjson.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 4, "\(ndjson.stdout)")
        #expect(Array(lines.prefix(2)) == [
            #"{"sensor_id":"s-1","speed":42.5,"ts":1700000000.5}"#,
            #"{"sensor_id":"s-2","speed":7,"ts":1700000001.0}"#,
        ])
        // No ts: stamped with the time of reading; the rest of the line is exact.
        #expect(lines[2].hasPrefix(#"{"sensor_id":"s-3","speed":0,"ts":"#) && lines[3].isEmpty, "\(lines)")
        #expect(ndjson.stderr.contains(#"mixed[0]@1: speed: must be a JSON number, not a string (got "7")"#), "\(ndjson.stderr)")
        #expect(ndjson.stderr.contains("3 readings written, 1 invalid records skipped"), "\(ndjson.stderr)")

        let csv = try await speedo.run(base + ["--format", "csv"], timeout: .seconds(30))
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n").map(String.init)
        #expect(Array(rows.prefix(3)) == ["sensor_id,speed,ts", "s-1,42.5,2023-11-14T22:13:20.5Z", "s-2,7,2023-11-14T22:13:21Z"])
        #expect(rows.count == 4 && rows[3].hasPrefix("s-3,0,"), "\(rows)")
        #expect(!csv.stdout.contains("\"7\""))
    }

    @Test func exitAtEndReadsEveryPartitionPrivatelyAndAsAGroupThatCommits() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "spread", partitions: 4)
        let readings = (0..<40).map { index in
            Reading(
                sensorID: "sensor-\(index % 7)", speed: Double(index),
                timestamp: Timestamp(microseconds: (1_700_000_000 + Int64(index)) * 1_000_000))
        }
        try produceRecords(readings.map(TestRecord.init), to: "spread", on: cluster)
        let expected = readings.map { String(decoding: CanonicalJSON.encode($0), as: UTF8.self) }.sorted()
        let base = ["consume", "stdout", "-b", cluster.bootstrapServers, "-t", "spread", "--exit-at-end"]

        let privately = try await speedo.run(base, timeout: .seconds(30))
        #expect(privately.status == 0, "\(privately.stderr)")
        #expect(privately.stdout.split(separator: "\n").map(String.init).sorted() == expected)

        let group = base + ["--group", "archive", "-X", "session.timeout.ms=3000", "-X", "heartbeat.interval.ms=300"]
        let first = try await speedo.run(group, timeout: .seconds(60))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.split(separator: "\n").map(String.init).sorted() == expected)
        // The group committed what it wrote: a second member starts after it.
        let more = Reading(sensorID: "late", speed: 1, timestamp: Timestamp(microseconds: 1_700_000_100_000_000))
        try produceRecords([TestRecord(more)], to: "spread", on: cluster)
        let second = try await speedo.run(group, timeout: .seconds(60))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout == String(decoding: CanonicalJSON.encode(more), as: UTF8.self) + "\n")
    }

    /// SIGTERM, how a service manager stops a service, ends a clean stop with 0; SIGINT, a person's Ctrl-C, with 130.
    @Test(arguments: [(SIGTERM, Int32(0)), (SIGINT, Int32(130))])
    func fromEndPrintsOnlyWhatComesAfterTheStartAndASignalStopsItCleanly(signal: Int32, status: Int32) async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "live", partitions: 2)
        let old = (0..<5).map { TestRecord(key: "old", value: #"{"sensor_id":"old","speed":\#($0),"ts":1700000000}"#) }
        try produceRecords(old, to: "live", on: cluster)
        let output = try TemporaryFile()
        let follower = try BackgroundSpeedo(
            speedo, ["consume", "stdout", "-b", cluster.bootstrapServers, "-t", "live", "--from", "end"],
            standardOutput: output.path)
        // Once it has reached the end of every partition, whatever comes next is after its start.
        try await waitUntil(timeout: .seconds(30), "the follower to catch up") {
            follower.stderr.contains("caught up with live (2 partitions)")
        }
        let new = (0..<3).map { TestRecord(key: "new-\($0)", value: #"{"sensor_id":"new-\#($0)","speed":1,"ts":1700000000}"#) }
        try produceRecords(new, to: "live", on: cluster)
        try await waitUntil(timeout: .seconds(20), "three lines") {
            output.contents().split(separator: "\n").count >= 3
        }
        kill(follower.process.processIdentifier, signal)
        #expect(try await follower.wait(timeout: .seconds(20)) == status, "\(follower.stderr)")
        #expect(output.contents().split(separator: "\n").map(String.init).sorted() == [
            #"{"sensor_id":"new-0","speed":1,"ts":1700000000.0}"#,
            #"{"sensor_id":"new-1","speed":1,"ts":1700000000.0}"#,
            #"{"sensor_id":"new-2","speed":1,"ts":1700000000.0}"#,
        ])
        #expect(
            follower.stderr.contains("speedo consume stdout: stopped on a signal; what was read was written"), "\(follower.stderr)")
        #expect(follower.stderr.contains("speedo: error: ") == (signal == SIGINT), "\(follower.stderr)")
    }

    @Test func aReaderThatGoesAwayEndsTheRunWithExit0() async throws {
        let cluster = try MockCluster()
        try cluster.createTopic(name: "many", partitions: 1)
        let readings = (0..<20_000).map { index in
            Reading(
                sensorID: "sensor-\(index % 10)", speed: 1,
                timestamp: Timestamp(microseconds: (1_700_000_000 + Int64(index)) * 1_000_000))
        }
        try produceRecords(readings.map(TestRecord.init), to: "many", on: cluster)
        // No --exit-at-end: only the closed pipe can end it.
        let pipeline = try await runProgram(
            ["bash", "-c", "'\(SpeedoBinary.path)' consume stdout -b \(cluster.bootstrapServers) -t many | head -n 3; "
                + "echo \"status ${PIPESTATUS[0]}\""],
            environment: speedo.environment, timeout: .seconds(30))
        let lines = pipeline.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(pipeline.stdout) \(pipeline.stderr)")
        #expect(lines.first == String(decoding: CanonicalJSON.encode(readings[0]), as: UTF8.self))
        #expect(lines.last == "status 0", "\(pipeline.stderr)")
    }
}
