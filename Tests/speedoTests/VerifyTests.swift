import Foundation
import SpeedoCore
import SpeedoTestSupport
import Testing

/// `speedo verify` against a history written by `consume postgres` (or `replay --to postgres`), then tampered with
/// through SQL as an operator or a bug would.
@Suite(.serialized, .programTurnsAhead) struct VerifyTests {
    func verify(_ stack: HistoryStack, _ arguments: [String] = []) async throws -> ProgramOutcome {
        try await stack.speedo.run(
            ["verify", "-b", stack.cluster.bootstrapServers, "-t", stack.topic, "-d", stack.databaseURL] + arguments)
    }

    /// The findings of an `--format ndjson` run, as JSON objects.
    func findings(_ run: ProgramOutcome) throws -> [[String: Any]] {
        try run.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// 600 readings 1/3 s apart across the UTC midnight of two days ago: the range spans two daily partitions.
    func readingsAcrossMidnight(sensors: Int = 12) -> [Reading] {
        let day: Int64 = 86_400
        let midnight = (Int64(Date().timeIntervalSince1970) / day - 1) * day
        return (0..<600).map { index in
            Reading(
                sensorID: "sensor-\(index % sensors)", speed: Double(index % 200),
                timestamp: Timestamp(microseconds: (midnight - 100) * 1_000_000 + Int64(index) * 333_333))
        }
    }

    /// The value of the record at `partition`/`offset`, read by kcat.
    func recordValue(_ stack: HistoryStack, partition: Int, offset: Int) async throws -> String {
        let read = try await runProgram([
            "kcat", "-C", "-b", stack.cluster.bootstrapServers, "-t", stack.topic, "-p", String(partition),
            "-o", String(offset), "-c", "1", "-e", "-q", "-f", "%s",
        ])
        try #require(read.status == 0, "kcat -C failed: \(read.stderr)")
        return read.stdout
    }

    @Test func aCleanHistoryIsConsistentAndEachTamperingIsNamed() async throws {
        let stack = try await HistoryStack(partitions: 3)
        let readings = readingsAcrossMidnight()
        try stack.produce(readings)
        let stamp = readings[0].timestamp.microseconds / 1_000
        try produceRecords(
            [TestRecord(key: "bad-1", value: "not json at all", timestampMs: stamp),
             TestRecord(key: "bad-2", value: #"{"sensor_id":"bad-2","speed":-5,"ts":1}"#, timestampMs: stamp)],
            to: stack.topic, on: stack.cluster)
        let written = try await stack.speedo.run(stack.consumeArguments(["--exit-at-end"]))
        try #require(written.status == 0, "consume failed: \(written.stderr)")

        let clean = try await verify(stack)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(clean.stdout == "")
        #expect(clean.stderr.contains("speedo verify: consistent: 602 records (2 invalid) against 600 rows; 2 dead-lettered"),
                "\(clean.stderr)")

        let (deleted, changed) = (readings[10], readings[20])
        for statement in [
            "DELETE FROM speed_readings WHERE sensor_id = '\(deleted.sensorID)' AND ts = '\(deleted.timestamp.rfc3339)'",
            "UPDATE speed_readings SET speed = 999.5 WHERE sensor_id = '\(changed.sensorID)' AND ts = '\(changed.timestamp.rfc3339)'",
            "INSERT INTO speed_readings VALUES ('intruder', '\(readings[30].timestamp.rfc3339)', 5)",
        ] {
            _ = try await stack.query(statement)
        }
        // An invalid record the writer passed without dead-lettering it: its offset is stored as written.
        try produceRecords([TestRecord(key: "bad-3", value: "[]", timestampMs: stamp)], to: stack.topic, on: stack.cluster)
        let highs = try stack.highWatermarks()
        let stored = try await stack.storedOffsets()
        let (skipped, _) = try #require(highs.first { stored[$0.key] != $0.value })
        _ = try await stack.query(
            "UPDATE speedo_consumer_offsets SET next_offset = \(highs[skipped]!) WHERE partition = \(skipped)")

        let tampered = try await verify(stack, ["--format", "ndjson"])
        #expect(tampered.status == 1, "\(tampered.stderr)")
        #expect(tampered.stderr.contains("NOT consistent: 1 missing, 1 mismatch, 1 unknown-origin, 1 not-dead-lettered"),
                "\(tampered.stderr)")
        let found = try findings(tampered)
        #expect(found.map { $0["kind"] as? String } == ["missing", "mismatch", "unknown-origin", "not-dead-lettered"])

        let missing = try #require(found.first { $0["kind"] as? String == "missing" })
        #expect(missing["sensor_id"] as? String == deleted.sensorID)
        #expect(missing["ts"] as? String == deleted.timestamp.rfc3339)
        // Its partition and offset name the very record, as kcat reads it.
        let value = try await recordValue(
            stack, partition: try #require(missing["partition"] as? Int), offset: try #require(missing["offset"] as? Int))
        #expect(value == String(decoding: CanonicalJSON.encode(deleted), as: UTF8.self))

        let mismatch = try #require(found.first { $0["kind"] as? String == "mismatch" })
        #expect(mismatch["sensor_id"] as? String == changed.sensorID)
        #expect(mismatch["stored_speed"] as? Double == 999.5)
        #expect(mismatch["speed"] as? Double == changed.speed)

        let unknown = try #require(found.first { $0["kind"] as? String == "unknown-origin" })
        #expect(unknown["sensor_id"] as? String == "intruder")

        let undead = try #require(found.first { $0["kind"] as? String == "not-dead-lettered" })
        #expect(undead["partition"] as? Int == Int(skipped))
        #expect(undead["offset"] as? Int == Int(highs[skipped]! - 1))
        #expect((undead["detail"] as? String)?.contains("malformed-line") == true, "\(undead)")

        // The table names the same four; --sensor keeps one sensor's.
        let table = try await verify(stack)
        #expect(table.status == 1)
        #expect(table.stdout.split(separator: "\n").first?.hasPrefix("KIND") == true, "\(table.stdout)")
        #expect(table.stdout.split(separator: "\n").count == 5, "\(table.stdout)")
        let one = try await verify(stack, ["--sensor", deleted.sensorID, "--format", "ndjson"])
        #expect(one.status == 1)
        #expect(try findings(one).map { $0["kind"] as? String } == ["missing"])

        // A stored offset beyond the partition's end (as after the topic was recreated) is named.
        _ = try await stack.query(
            "UPDATE speedo_consumer_offsets SET next_offset = \(highs[skipped]! + 10) WHERE partition = \(skipped)")
        let beyond = try await verify(stack, ["--format", "ndjson"])
        #expect(beyond.status == 1)
        let offsetFinding = try #require(try findings(beyond).first { $0["kind"] as? String == "offset-beyond-end" })
        #expect(offsetFinding["partition"] as? Int == Int(skipped))
        #expect(offsetFinding["offset"] as? Int == Int(highs[skipped]! + 10))
    }

    @Test func rowsReplayedIntoPostgresAndConflictsAreAccountedFor() async throws {
        let stack = try await HistoryStack(partitions: 2)
        let readings = readingsAcrossMidnight(sensors: 4)
        // A second record for readings[5]'s sensor and time with another speed: the history keeps the first.
        var conflicting = readings[5]
        conflicting.speed += 1
        try stack.produce(readings + [conflicting])
        let replayed = try await stack.speedo.run(
            ["replay", "-b", stack.cluster.bootstrapServers, "-t", stack.topic, "-d", stack.databaseURL,
             "--since", "@0", "--to", "postgres"])
        try #require(replayed.status == 0, "\(replayed.stderr)")

        let run = try await verify(stack, ["--format", "ndjson"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("consistent: 601 records (0 invalid) against 600 rows"), "\(run.stderr)")
        #expect(run.stderr.contains("1 conflicting records (the history keeps the first)"), "\(run.stderr)")
        let found = try findings(run)
        #expect(found.map { $0["kind"] as? String } == ["conflict"])
        #expect(found.first?["speed"] as? Double == conflicting.speed)

        // Records no consume postgres group has reached are lag, not loss.
        try stack.produce(makeReadings(count: 3, sensors: 3))
        let behind = try await verify(stack)
        #expect(behind.status == 0, "\(behind.stderr)")
        #expect(behind.stderr.contains("3 not yet written by speedo-history (lag 604)"), "\(behind.stderr)")

        // Rows pruned by db prune are not missing: verify says how many records it could not check, and why.
        let pruned = try await stack.speedo.run(["db", "prune", "--older-than", "1d", "-d", stack.databaseURL])
        try #require(pruned.status == 0, "\(pruned.stderr)")
        let yesterday = Timestamp(microseconds: (Int64(Date().timeIntervalSince1970) / 86_400 - 1) * 86_400_000_000)
        let afterPrune = try await verify(stack)
        #expect(afterPrune.status == 0, "\(afterPrune.stdout)\(afterPrune.stderr)")
        #expect(afterPrune.stderr.contains("records older than the rows db prune kept (before \(yesterday.rfc3339)), not checked"),
                "\(afterPrune.stderr)")
    }
}
