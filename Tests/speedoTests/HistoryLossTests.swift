import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
import Testing

@testable import speedo

/// Every way a reading could go missing between `ingest` and `speed_readings` without a word: each test reproduces
/// the fault and shows the reading stored, or its loss recorded, counted and reported.
@Suite(.serialized, .programTurnsAhead) struct HistoryLossTests {
    /// Three readings of one sensor without `ts`, read in one block, used to share one stamp: one row was kept and
    /// two were absorbed as "already there".
    @Test func readingsWithoutTimeBecomeOneRowEach() async throws {
        let stack = try await HistoryStack()
        let lines = ["10", "20", "30"].map { "{\"sensor_id\":\"dupts-1\",\"speed\":\($0)}" }.joined(separator: "\n")
        let ingest = try await stack.run(
            ["ingest", "-b", stack.cluster.bootstrapServers, "-t", stack.topic], input: lines + "\n")
        #expect(ingest.status == 0, "\(ingest.stderr)")

        let run = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("stored 3 rows (3 new, 0 already there)"), "\(run.stderr)")
        let rows = try await stack.query("SELECT speed FROM speed_readings WHERE sensor_id = 'dupts-1' ORDER BY ts")
        #expect(try rows.map { try $0.double("speed") } == [10, 20, 30])
    }

    /// A record without `ts` written by another producer takes its Kafka timestamp: read a second time (offsets
    /// reset), it is the same row, not a second one stamped with the reader's clock.
    @Test func foreignRecordsWithoutTimeKeepTheirRecordTimeWhenReadAgain() async throws {
        let stack = try await HistoryStack(partitions: 1)
        let sent = (Int64(Date().timeIntervalSince1970) - 60) * 1_000 + 123
        try await runOnDedicatedThread {
            try produceRecords(
                [TestRecord(key: "foreign-1", value: #"{"sensor_id":"foreign-1","speed":33}"#, timestampMs: sent)],
                to: stack.topic, on: stack.cluster)
        }
        for round in 0..<2 {
            let run = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains(round == 0 ? "(1 new, 0 already there)" : "(0 new, 1 already there)"), "\(run.stderr)")
            _ = try await stack.query("UPDATE speedo_consumer_offsets SET next_offset = 0")
        }
        let rows = try await stack.query(
            "SELECT (extract(epoch FROM ts) * 1000)::bigint AS ms FROM speed_readings WHERE sensor_id = 'foreign-1'")
        #expect(try rows.map { try $0.int("ms") } == [Int(sent)])
    }

    /// The HTTP body decoder stamps a sensor's readings apart within one array, and across requests.
    @Test func httpBodiesStampEachReadingOfASensorApart() throws {
        let stamps = ReceptionStamps()
        let now = Timestamp.current()
        var times: [Timestamp] = []
        for body in [#"[{"sensor_id":"a","speed":1},{"sensor_id":"a","speed":2},{"sensor_id":"b","speed":3}]"#,
                     "{\"sensor_id\":\"a\",\"speed\":4}\n{\"sensor_id\":\"a\",\"speed\":5}\n"] {
            let format: SpeedBodyFormat = body.hasPrefix("[") ? .json : .ndjson
            let items = try Array(body.utf8).withUnsafeBytes { bytes in
                try SpeedBodyDecoder.decode(bytes, format: format, now: now, stamps: stamps).get()
            }
            for item in items { times.append(try item.outcome.get().timestamp) }
        }
        let sensorA = [times[0], times[1], times[3], times[4]]
        #expect(Set(sensorA).count == 4, "\(sensorA)")
        #expect(sensorA == sensorA.sorted())
        #expect(times[2] == now, "another sensor keeps the reception time")
    }

    /// The same sensor and time with another speed is a conflict: the first stays, the other goes to the dead-letter
    /// topic and speedo_history_conflicts, and is counted; the same reading again is only "already there".
    @Test func conflictingReadingsAreRecordedAndSentToTheDeadLetterTopic() async throws {
        let stack = try await HistoryStack(partitions: 1)
        let at = Timestamp(microseconds: (Int64(Date().timeIntervalSince1970) - 600) * 1_000_000)
        let first = Reading(sensorID: "car-7", speed: 50, timestamp: at)
        var other = first
        other.speed = 80
        let records = [first, first, other, Reading(sensorID: "car-8", speed: 1, timestamp: at)]
        try await runOnDedicatedThread { try stack.produce(records) }

        let run = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("error: conflict (speed-events[0]@2)"), "\(run.stderr)")
        #expect(run.stderr.contains("NOT STORED: 1 conflicting readings"), "\(run.stderr)")
        #expect(try await stack.stored().rows == 2)
        let kept = try await stack.query("SELECT speed FROM speed_readings WHERE sensor_id = 'car-7'")
        #expect(try kept.first?.double("speed") == 50)
        let recorded = try await stack.query(
            #"SELECT speed, stored_speed, partition, "offset" FROM speedo_history_conflicts"#)
        #expect(recorded.count == 1)
        #expect(try recorded.first?.double("speed") == 80)
        #expect(try recorded.first?.int("offset") == 2)

        let letters = try await stack.execute([
            "kcat", "-C", "-b", stack.cluster.bootstrapServers, "-t", "speed-events.dlq", "-e", "-q",
            "-f", "%h %s\n",
        ])
        #expect(letters.stdout.contains("speedo-error-code=conflict"), "\(letters.stdout)")
        #expect(letters.stdout.contains("\"speed\":80"), "\(letters.stdout)")

        // status: a warning, not a failure.
        let check = try await stack.status(["--check"])
        #expect(check.status == 1, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.hasPrefix("SPEEDO WARNING - 1 conflicting reading recorded"), "\(check.stdout)")

        // The levels of --check: the dead letter passes a critical one; both sensors were heard from 10 minutes ago.
        let levels = try await stack.status(["--check", "--max-lag", "0", "--max-dlq", "0,0", "--max-silence", "5m,1h"])
        #expect(levels.status == 2, "\(levels.stdout)\(levels.stderr)")
        #expect(levels.stdout.hasPrefix("SPEEDO CRITICAL - 1 record in speed-events.dlq (over 0); "), "\(levels.stdout)")
        #expect(levels.stdout.contains("2 sensors silent for longer than 5m (the longest: car-"), "\(levels.stdout)")
        #expect(levels.stdout.contains(" lag=0;0 dead_letters=1;0;0 silent_sensors=2 longest_silence=6"), "\(levels.stdout)")
    }

    /// Records removed by the broker before the writer read them (the mock keeps about 5 MB per partition, as
    /// retention would) are a gap: recorded with the offsets that move past it, printed, shown by status, critical
    /// for `status --check` until acknowledged.
    @Test func recordsRemovedBeforeTheyWereStoredAreARecordedGap() async throws {
        let stack = try await HistoryStack(partitions: 1)
        // ~1 KB a record: 8,000 of them are more than the partition keeps, so its log start moves.
        let padding = String(repeating: "x", count: 1_000)
        let start = Int64(Date().timeIntervalSince1970) - 20_000
        let records = (0..<8_000).map { index in
            TestRecord(
                key: "pad-\(index % 10)",
                value: "{\"sensor_id\":\"pad-\(index % 10)\",\"speed\":1,\"ts\":\(start + Int64(index)),\"pad\":\"\(padding)\"}")
        }
        try await runOnDedicatedThread { try produceRecords(records, to: stack.topic, on: stack.cluster) }
        let low = try #require(try stack.lowWatermarks()[0])
        try #require(low > 0, "the broker kept every record; the test needs it to drop the oldest")
        // The group had stored everything before offset 100 when it stopped.
        _ = try await stack.query(
            "INSERT INTO speedo_consumer_offsets (group_id, topic, partition, next_offset) VALUES ('speedo-history', 'speed-events', 0, 100)")

        let stop = try await stack.run(stack.consumeArguments(["--exit-at-end", "--on-gap", "stop"]))
        #expect(stop.status == 65, "\(stop.stderr)")
        #expect(stop.stderr.contains("speed-events[0] offsets 100–\(low - 1)"), "\(stop.stderr)")
        #expect(try await stack.stored().rows == 0)

        let run = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("error: speed-events[0] offsets 100–\(low - 1)"), "\(run.stderr)")
        #expect(run.stderr.contains("\(grouped(Int(low - 100))) records removed by the brokers"), "\(run.stderr)")
        #expect(try await stack.stored().rows == 8_000 - Int(low))
        let gaps = try await stack.query("SELECT first_offset, last_offset FROM speedo_history_gaps")
        #expect(try gaps.map { [try $0.int("first_offset"), try $0.int("last_offset")] } == [[100, Int(low) - 1]])

        let status = try await stack.status()
        #expect(status.stdout.contains("NOT STORED: 1 gap not acknowledged"), "\(status.stdout)")
        let critical = try await stack.status(["--check"])
        #expect(critical.status == 2, "\(critical.stdout)\(critical.stderr)")
        #expect(critical.stdout.hasPrefix("SPEEDO CRITICAL - 1 gap not acknowledged"), "\(critical.stdout)")

        let acknowledged = try await stack.run(["db", "gaps", "--acknowledge", "-d", stack.databaseURL])
        #expect(acknowledged.status == 0, "\(acknowledged.stderr)")
        #expect(acknowledged.stdout.contains("speed-events"), "\(acknowledged.stdout)")
        let ok = try await stack.status(["--check"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
    }

    /// Stored offsets beyond a partition's end (the topic was created again) are named, never waited on; resetting
    /// them is the operator's explicit step, after which the new records are stored.
    @Test func offsetsBeyondTheEndAreNamedAndResetExplicitly() async throws {
        let stack = try await HistoryStack(partitions: 1)
        let readings = makeReadings(count: 160, sensors: 4)
        try await runOnDedicatedThread { try stack.produce(readings) }
        _ = try await stack.query(
            "INSERT INTO speedo_consumer_offsets (group_id, topic, partition, next_offset) VALUES ('speedo-history', 'speed-events', 0, 75636)")

        let status = try await stack.status()
        #expect(status.stdout.contains("BEYOND END by 75,476"), "\(status.stdout)")
        let check = try await stack.status(["--check"])
        #expect(check.status == 2, "\(check.stdout)")
        #expect(check.stdout.contains("stored offset 75636 beyond the end 160"), "\(check.stdout)")

        let refused = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(refused.status == 65, "\(refused.stderr)")
        #expect(refused.stderr.contains("resumes speed-events[0] at offset 75636"), "\(refused.stderr)")
        #expect(refused.stderr.contains("speedo db reset-offsets"), "\(refused.stderr)")
        #expect(try await stack.stored().rows == 0)

        let reset = try await stack.run([
            "db", "reset-offsets", "--to", "earliest", "-b", stack.cluster.bootstrapServers, "-d", stack.databaseURL,
        ])
        #expect(reset.status == 0, "\(reset.stderr)")
        #expect(reset.stdout.contains("speed-events[0]  75636 -> earliest"), "\(reset.stdout)")
        let run = try await stack.run(stack.consumeArguments(["--exit-at-end"]), timeout: .seconds(60))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await stack.stored().rows == 160)
    }

    /// `pg_ctl stop -m immediate` (a crash, as far as clients can tell) under a running writer, then a start: the
    /// writer retries the statement that broke, whichever it was, and stores every record exactly once.
    @Test func writerCarriesOnAfterAnImmediatePostgreSQLRestart() async throws {
        let stack = try await HistoryStack()
        let readings = makeReadings(count: 60_000, seed: 21)
        let producing = Task { try await runOnDedicatedThread { try stack.produce(readings, over: .seconds(6)) } }
        let writer = try BackgroundSpeedo(stack.speedo, stack.consumeArguments(["--batch-size", "500"]))
        let postgres = stack.postgres
        for _ in 0..<3 {
            let before = try await stack.stored().rows
            try await waitUntil(timeout: .seconds(30), "rows beyond \(before)") { try await stack.stored().rows > before }
            try await runOnDedicatedThread { try postgres.stop(mode: .immediate) }
            try await Task.sleep(for: .milliseconds(500))
            _ = try await runOnDedicatedThread { try postgres.start() }
        }
        try await producing.value
        try await waitUntil(timeout: .seconds(60), "every row") { try await stack.stored().rows >= 60_000 }
        kill(writer.process.processIdentifier, SIGTERM)
        let status = try await writer.wait(timeout: .seconds(30))
        #expect(status == 0, "the writer did not carry on: \(writer.stderr)")
        #expect(writer.stderr.contains("PostgreSQL unreachable ("), "no retry was reported: \(writer.stderr)")
        #expect(try await stack.stored() == StoredSummary(rows: 60_000, keys: 60_000, speedSum: speedSum(readings)))
        #expect(try await stack.storedOffsets() == (try stack.highWatermarks()))
    }
    /// All of it at once: readings without `ts` and conflicting ones, live, while the writer is killed with -9, the
    /// broker pauses and PostgreSQL restarts immediately. At the end, what the topic holds (read back with kcat) is
    /// exactly the table plus the recorded conflicts: each key's first reading stored, every other one recorded.
    @Test func chaosEndsWithTheTopicEqualToTheTablePlusWhatWasRecorded() async throws {
        let stack = try await HistoryStack(partitions: 3)
        let readings = makeReadings(count: 30_000, sensors: 40, seed: 33)
        let producing = Task { try await runOnDedicatedThread { try stack.produce(readings, over: .seconds(10)) } }
        var writer = try BackgroundSpeedo(stack.speedo, stack.consumeArguments(["--batch-size", "500"]))
        try await waitUntil(timeout: .seconds(30), "first rows") { try await stack.stored().rows > 0 }
        let withoutTime = (0..<3_000).map { "{\"sensor_id\":\"bare-\($0 % 20)\",\"speed\":\($0 % 300)}" }
        let ingest = { () async throws in
            let run = try await stack.run(
                ["ingest", "-b", stack.cluster.bootstrapServers, "-t", stack.topic],
                input: withoutTime.joined(separator: "\n") + "\n")
            #expect(run.status == 0, "\(run.stderr)")
        }
        try await ingest()

        writer.kill9()
        writer = try BackgroundSpeedo(stack.speedo, stack.consumeArguments(["--batch-size", "500"]))
        // Ten readings at the sensor and time of readings already sent, with other speeds.
        var conflicting = Array(readings[100..<110])
        for index in conflicting.indices { conflicting[index].speed = 1_000 - conflicting[index].speed + 0.5 }
        let conflictingReadings = conflicting
        try await runOnDedicatedThread { try stack.produce(conflictingReadings) }

        try stack.cluster.setBroker(1, up: false)
        try await Task.sleep(for: .seconds(2))
        try stack.cluster.setBroker(1, up: true)
        try await ingest()
        let postgres = stack.postgres
        try await runOnDedicatedThread { try postgres.stop(mode: .immediate) }
        try await Task.sleep(for: .milliseconds(500))
        _ = try await runOnDedicatedThread { try postgres.start() }
        try await producing.value

        let total = try stack.highWatermarks().values.reduce(0, +)
        try await waitUntil(timeout: .seconds(90), "every record accounted for") {
            let done = try await stack.storedOffsets()
            return done.values.reduce(0, +) == total
        }
        kill(writer.process.processIdentifier, SIGTERM)
        #expect(try await writer.wait(timeout: .seconds(30)) == 0, "\(writer.stderr)")

        // The topic, read back by an independent client: each key's first reading in topic order is the row.
        let dump = try await stack.execute(
            ["kcat", "-C", "-b", stack.cluster.bootstrapServers, "-t", stack.topic, "-e", "-q", "-f", "%p %o %s\n"])
        var records: [(partition: Int, offset: Int, reading: Reading)] = []
        for line in dump.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 2)
            let reading = try ReadingDecoder.decode(value: Array(fields[2].utf8), now: .current()).get()
            records.append((Int(fields[0])!, Int(fields[1])!, reading))
        }
        #expect(records.count == Int(total))
        records.sort { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
        var expected: [String: Double] = [:]
        var expectedConflicts = 0
        for record in records {
            let key = "\(record.reading.sensorID)@\(record.reading.timestamp.microseconds)"
            if let first = expected[key] {
                if first != record.reading.speed { expectedConflicts += 1 }
            } else {
                expected[key] = record.reading.speed
            }
        }
        var stored: [String: Double] = [:]
        for row in try await stack.query(
            "SELECT sensor_id, (extract(epoch FROM ts) * 1000000)::bigint AS us, speed FROM speed_readings")
        {
            stored["\(row["sensor_id"] ?? "")@\(try row.int("us") ?? 0)"] = try row.double("speed")
        }
        #expect(stored.count == expected.count, "rows \(stored.count), distinct keys on the topic \(expected.count)")
        #expect(stored == expected, "the table differs from the first reading of each key on the topic")
        #expect(expected.keys.filter { $0.hasPrefix("bare-") }.count == 6_000, "readings without ts collapsed")
        let conflicts = try await stack.query("SELECT count(*) AS n FROM speedo_history_conflicts")
        #expect(expectedConflicts == 10)
        #expect(try conflicts.first?.int("n") == expectedConflicts)
        #expect(try await stack.query("SELECT 1 FROM speedo_history_gaps").isEmpty)
    }

}

/// A long-running command stops within `StopDeadline.limit` of the first SIGTERM, whatever its dependencies do.
@Suite(.programTurns) struct BoundedStopTests {
    /// The broker's process is killed under `consume latest` fed by a live stream (it took 90 s, once more than
    /// 8 minutes, to stop).
    @Test func consumeLatestStopsInBoundedTimeWithTheBrokerGone() async throws {
        let state = try TemporaryDirectory()
        let speedo = SpeedoBinary(environment: ["XDG_STATE_HOME": state.path, "SPEEDO_BROKERS": nil])
        let broker = try BackgroundSpeedo(speedo, ["dev", "serve-broker", "--state-directory", state.path])
        var brokers = ""
        try await waitUntil(timeout: .seconds(15), "the broker's address") {
            let record = try? Data(contentsOf: URL(fileURLWithPath: state.path + "/broker.json"))
            let fields = record.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            brokers = fields?["bootstrapServers"] as? String ?? ""
            return !brokers.isEmpty
        }
        let latest = try BackgroundSpeedo(speedo, ["consume", "latest", "-b", brokers])
        try await waitUntil(timeout: .seconds(30), "assignment") { latest.stderr.contains("assigned") }
        let simulation = try BackgroundSpeedo(speedo, ["simulate", "--sensors", "20", "--rate", "5", "-b", brokers])
        try await Task.sleep(for: .seconds(3))
        broker.kill9()
        try await Task.sleep(for: .seconds(2))
        let signalled = ContinuousClock.now
        kill(latest.process.processIdentifier, SIGTERM)
        let status = try await latest.wait(timeout: StopDeadline.limit + .seconds(40))
        let took = ContinuousClock.now - signalled
        simulation.kill9()
        #expect(status != nil, "still running \(took) after SIGTERM: \(latest.stderr)")
        #expect(took <= StopDeadline.limit + .seconds(3), "took \(took): \(latest.stderr)")
        // A clean stop when no state was waiting for the gone broker (0); otherwise cut short at the deadline, saying
        // what is left undone, which is not a clean stop (130).
        #expect(
            status == 0 || (status == 130 && latest.stderr.contains("exiting without waiting further: states not acknowledged")),
            "\(String(describing: status)): \(latest.stderr)")
    }
}

extension HistoryStack {
    /// `speedo` against this stack, waited for on a thread of its own: a test that blocked the concurrency pool's
    /// two threads on a child process would starve every in-process server of the other tests running meanwhile.
    func run(_ arguments: [String], input: String? = nil, timeout: Duration = .seconds(60)) async throws -> ProgramOutcome {
        let speedo = self.speedo
        return try await speedo.run(arguments, input: input, timeout: timeout)
    }

    /// `speedo status` against this stack.
    func status(_ extra: [String] = []) async throws -> ProgramOutcome {
        try await run(["status", "-b", cluster.bootstrapServers, "-d", databaseURL] + extra)
    }

    /// Another program (kcat), off the concurrency pool likewise.
    func execute(_ command: [String]) async throws -> ProgramOutcome {
        try await runProgram(command)
    }
}
