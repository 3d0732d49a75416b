import Foundation
import SpeedoCore
import SpeedoPipeline
import SpeedoRuntime
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `speedo history` against a real PostgreSQL with a small fixture written by `HistoryWriter`.
@Suite(.serialized, .programTurnsAhead) struct HistoryTests {
    /// 2024-05-01T12:00:00Z
    static let base: Int64 = 1_714_564_800

    static let fixture: [Reading] = [
        reading("sensor-1", 10, 0), reading("sensor-1", 20.5, 30), reading("sensor-1", 30, 60),
        reading("sensor-1", 40, 90), reading("sensor-10", 5, 15), reading("sensor-2", 100, 45),
        reading("sensor-2", 1, 500),
    ]

    static func reading(_ sensor: String, _ speed: Double, _ offset: Int64, micros: Int64 = 0) -> Reading {
        Reading(sensorID: sensor, speed: speed, timestamp: Timestamp(microseconds: (base + offset) * 1_000_000 + micros))
    }

    static func store(_ readings: [Reading], in stack: HistoryStack) async throws {
        let url = stack.databaseURL
        try await runOnDedicatedThread {
            let writer = HistoryWriter(conninfo: url, group: "fixture", topic: "fixture")
            defer { writer.close() }
            var batch = HistoryBatch()
            for reading in readings { batch.append(reading) }
            _ = try writer.write(batch)
        }
    }

    /// On a thread of its own: a test waiting for a process must not hold one of the concurrency pool's threads,
    /// which every other test running meanwhile needs.
    func history(_ stack: HistoryStack, _ arguments: [String]) async throws -> ProgramOutcome {
        let (speedo, url) = (stack.speedo, stack.databaseURL)
        return try await speedo.run(["history"] + arguments + ["-d", url])
    }

    static let range = ["--since", "@\(base)", "--until", "@\(base + 120)"]
    var range: [String] { Self.range }

    @Test func everyFormatIsExact() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)

        let csv = try await history(stack, ["sensor-2", "sensor-1"] + range + ["--format", "csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout == """
            sensor_id,speed,ts
            sensor-1,10,2024-05-01T12:00:00Z
            sensor-1,20.5,2024-05-01T12:00:30Z
            sensor-1,30,2024-05-01T12:01:00Z
            sensor-1,40,2024-05-01T12:01:30Z
            sensor-2,100,2024-05-01T12:00:45Z

            """)

        let table = try await history(stack, ["sensor-1", "sensor-10"] + range + ["--limit", "3"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout == """
            SENSOR    TIME (UTC)            SPEED km/h
            sensor-1  2024-05-01T12:00:00Z          10
            sensor-1  2024-05-01T12:00:30Z        20.5
            sensor-1  2024-05-01T12:01:00Z          30

            """)

        let ndjson = try await history(stack, ["sensor-10", "sensor-2"] + range + ["--format", "ndjson"])
        #expect(ndjson.stdout == """
            {"sensor_id":"sensor-10","speed":5,"ts":\(Self.base + 15).0}
            {"sensor_id":"sensor-2","speed":100,"ts":\(Self.base + 45).0}

            """)

        let json = try await history(stack, ["sensor-10", "sensor-2"] + range + ["--format", "json"])
        #expect(json.stdout == """
            [{"sensor_id":"sensor-10","speed":5,"ts":\(Self.base + 15).0},
            {"sensor_id":"sensor-2","speed":100,"ts":\(Self.base + 45).0}]

            """)
        let parsed = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(parsed?.count == 2)
    }

    @Test func bucketsMatchIndependentlyComputedStatistics() async throws {
        let stack = try await HistoryStack(partitions: 1)
        var random = SplitMix64(seed: 5)
        // 600 readings a second apart over 10 minutes, two sensors, speeds with a fraction.
        let readings = (0..<600).map { index in
            Self.reading(index % 2 == 0 ? "car-a" : "car-b", Double(random.next() % 100_000) / 100, Int64(index))
        }
        try await Self.store(readings, in: stack)
        let since = Self.base + 7  // buckets start at --since, not at a round minute
        let run = try await history(stack, [
            "car-a", "car-b", "--since", "@\(since)", "--until", "@\(Self.base + 600)", "--bucket", "2m", "--exact",
            "--format", "ndjson",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map {
            try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }

        var expected: [(sensor: String, start: Int64, speeds: [Double])] = []
        for sensor in ["car-a", "car-b"] {
            for bucketStart in stride(from: since, to: Self.base + 600, by: 120) {
                let speeds = readings.filter {
                    $0.sensorID == sensor && $0.timestamp.microseconds >= bucketStart * 1_000_000
                        && $0.timestamp.microseconds < min(bucketStart + 120, Self.base + 600) * 1_000_000
                }.map(\.speed).sorted()
                if !speeds.isEmpty { expected.append((sensor, bucketStart, speeds)) }
            }
        }
        try #require(lines.count == expected.count, "\(run.stdout)")
        for (line, bucket) in zip(lines, expected) {
            let speeds = bucket.speeds
            let rank = 0.95 * Double(speeds.count - 1)
            let lower = Int(rank.rounded(.down))
            let p95 = speeds[lower] + (rank - Double(lower)) * (speeds[min(lower + 1, speeds.count - 1)] - speeds[lower])
            #expect(line["sensor_id"] as? String == bucket.sensor)
            #expect(line["bucket_start"] as? String == Timestamp(microseconds: bucket.start * 1_000_000).rfc3339)
            #expect(line["count"] as? Int == speeds.count)
            #expect(line["min"] as? Double == speeds.first)
            #expect(line["max"] as? Double == speeds.last)
            #expect(abs((line["avg"] as? Double ?? 0) - speeds.reduce(0, +) / Double(speeds.count)) < 1e-9)
            #expect(abs((line["p95"] as? Double ?? 0) - p95) < 1e-9)
        }

        // However many slices the range is read in, the output is the same, to the byte.
        for format in ["ndjson", "csv", "json"] {
            for raw in [true, false] {
                let query = ["car-b", "car-a", "--since", "@\(since)", "--until", "@\(Self.base + 600)", "--format", format]
                    + (raw ? [] : ["--bucket", "2m", "--exact"])
                var outputs: [String] = []
                for slices in [1, 2, 7] { outputs.append(try await history(stack, query + ["--parallel", "\(slices)"]).stdout) }
                #expect(Set(outputs).count == 1, "\(format), raw \(raw): \(outputs.map { $0.prefix(300) })")
                #expect(outputs[0].split(separator: "\n").count > 5)
            }
        }

        let table = try await history(
            stack, ["car-a", "--since", "@\(since)", "--until", "@\(since + 120)", "--bucket", "2m", "--exact"])
        #expect(table.stdout.hasPrefix("SENSOR  BUCKET START (UTC)    COUNT  MIN km/h  AVG km/h  MAX km/h  P95 km/h\n"))
    }

    /// Buckets of whole hours come from the rollups, the same before and after `db prune` dropped the rows; --exact
    /// reads the rows, which are gone.
    @Test func hourlyBucketsOutliveTheRowsThroughTheRollups() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)
        let range = ["--since", "@\(Self.base)", "--until", "@\(Self.base + 3_600)", "--bucket", "1h", "--format", "csv"]
        let before = try await history(stack, ["sensor-1", "sensor-2"] + range)
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.split(separator: "\n").count == 3, "\(before.stdout)")
        #expect(before.stdout.contains("sensor-1,2024-05-01T12:00:00Z,4,10,25.125,40,"), "\(before.stdout)")

        let pruned = try await stack.speedo.run(["db", "prune", "--older-than", "1d", "-d", stack.databaseURL])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        let after = try await history(stack, ["sensor-1", "sensor-2"] + range)
        #expect(after.status == 0, "\(after.stderr)")
        #expect(after.stdout == before.stdout)
        #expect(after.stderr.contains(
            "the rows before 2024-05-03T00:00:00Z were pruned (db prune); the buckets come from the rollups"), "\(after.stderr)")

        let exact = try await history(stack, ["sensor-1"] + range + ["--exact"])
        #expect(exact.status == 0, "\(exact.stderr)")
        #expect(exact.stdout.isEmpty)
        #expect(exact.stderr.contains("no readings"), "\(exact.stderr)")
        #expect(exact.stderr.contains("were pruned (db prune); what they held is not shown"), "\(exact.stderr)")
    }

    @Test func unknownSensorsGetSuggestionsAndSQLDoesNoHarm() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)

        let typo = try await history(stack, ["sensor-3"] + range)
        #expect(typo.status == 65)
        #expect(typo.stdout.isEmpty)
        #expect(typo.stderr.contains(#"no readings of sensor "sensor-3" at all in PostgreSQL; did you mean sensor-1, sensor-2, sensor-10?"#), "\(typo.stderr)")

        for hostile in [#"'; drop table speed_readings; --"#, #"sensor-1' OR '1'='1"#, #"a","b"#, "x\u{1B}[2Jy"] {
            let run = try await history(stack, [hostile] + range)
            #expect(run.status == 65, "\(run.stderr)")
            #expect(!run.stderr.contains("\u{1B}"), "escape codes reached the terminal")
        }
        #expect(try await stack.stored().rows == Self.fixture.count)
    }

    /// Rows another writer put into PostgreSQL, with ids no speedo ingest would accept: the CSV stays one record of
    /// three fields per row (RFC 4180), nothing raw reaches a terminal, no field starts a spreadsheet formula.
    @Test func csvQuotesEscapesAndDefusesHostileIds() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)  // creates the day's partition
        let shownAs: [(id: String, field: String)] = [
            ("a,b", "a,b"), ("say \"hi\"", "say \"hi\""), ("two\nlines", #"two\nlines"#), ("cr\rlf", #"cr\rlf"#),
            ("\u{1B}[2Jcleared", #"\u{1B}[2Jcleared"#), ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
            ("+1+1", "'+1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-2+3", "'-2+3"), ("\tindented", #"\tindented"#),
            (#"back\slash"#, #"back\\slash"#), ("bell\u{07}", #"bell\u{7}"#), ("rtl\u{202E}txt", #"rtl\u{202E}txt"#),
            ("Zürich", "Zürich"),
        ]
        for (offset, hostile) in shownAs.enumerated() {
            let literal = "'" + hostile.id.replacingOccurrences(of: "'", with: "''") + "'"
            _ = try await stack.query(
                "insert into speed_readings (sensor_id, ts, speed) values (\(literal), to_timestamp(\(Self.base + Int64(offset))), \(offset))")
        }
        // After `--`: ids starting with - or + are not options.
        let (speedo, url) = (stack.speedo, stack.databaseURL)
        let arguments = ["history", "-d", url] + range + ["--format", "csv", "--"] + shownAs.map(\.id)
        let run = try await speedo.run(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        for raw in ["\u{1B}", "\r", "\t", "\u{07}", "\u{202E}"] {
            #expect(!run.stdout.contains(raw), "a raw \(raw.unicodeScalars.first!.value) reached stdout")
        }
        let records = try RFC4180.parse(run.stdout)
        #expect(records.first == ["sensor_id", "speed", "ts"])
        let rows = records.dropFirst()
        try #require(rows.count == shownAs.count, "\(run.stdout)")
        // Rows come by id (bytes), then by time: match them by speed, which is each id's offset.
        for row in rows {
            try #require(row.count == 3, "\(row)")
            let expected = shownAs[try #require(Int(row[1]))]
            #expect(row[0] == expected.field, "\(expected.id.debugDescription)")
            #expect(!["=", "+", "-", "@"].contains(row[0].first.map(String.init) ?? ""), "\(row[0]) starts a formula")
        }

        // The table shows the same escapes.
        let table = try await history(stack, ["two\nlines"] + range)
        #expect(table.stdout.contains(#"two\nlines"#), "\(table.stdout)")
    }

    /// `history --format csv | speedo ingest --format csv`: every valid id, even one that starts like a formula,
    /// comes back unchanged.
    @Test func csvOfValidIdsIsReadBackByIngest() async throws {
        let stack = try await HistoryStack(partitions: 1)
        let ids = ["-leading-dash", "a.b_c:d/e-f", "sensor-1"]
        let readings = ids.enumerated().map { Self.reading($1, Double($0) + 0.5, Int64($0)) }
        try await Self.store(readings, in: stack)
        let (speedo, url) = (stack.speedo, stack.databaseURL)
        let csv = try await speedo.run(["history", "-d", url] + Self.range + ["--format", "csv", "--"] + ids)
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(csv.stdout.contains("'-leading-dash,"), "\(csv.stdout)")

        let bootstrap = stack.cluster.bootstrapServers
        let ingest = try await speedo.run(
            ["ingest", "--format", "csv", "-b", bootstrap, "-t", "round-trip", "--partitions", "1"], input: csv.stdout)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let consumed = try await speedo.run(["consume", "stdout", "-b", bootstrap, "-t", "round-trip", "--exit-at-end", "--format", "csv"])
        #expect(consumed.status == 0, "\(consumed.stderr)")
        // ingest groups a block's readings by key before publishing them: compare them in one order.
        let idsAndSpeeds = { (text: String) in try RFC4180.parse(text).map { $0.prefix(2).joined(separator: ",") }.sorted() }
        #expect(try idsAndSpeeds(consumed.stdout) == idsAndSpeeds(csv.stdout), "\(consumed.stdout)")
    }

    @Test func anEmptyRangeSaysSoOnStderr() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)
        let run = try await history(stack, ["sensor-1", "--since", "@\(Self.base + 1000)", "--until", "@\(Self.base + 2000)"])
        #expect(run.status == 0)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains("no readings from 2024-05-01T12:16:40Z to 2024-05-01T12:33:20Z"), "\(run.stderr)")

        let quiet = try await history(stack, ["sensor-1", "sensor-2", "--since", "@\(Self.base + 400)", "--until", "@\(Self.base + 600)"])
        #expect(quiet.status == 0)
        #expect(quiet.stdout.contains("sensor-2  2024-05-01T12:08:20Z"))
        #expect(quiet.stderr.contains(#"no readings of "sensor-1" from"#), "\(quiet.stderr)")
    }

    @Test func plotsOneChartPerSensorWithinTheWidth() async throws {
        let stack = try await HistoryStack(partitions: 1)
        try await Self.store(Self.fixture, in: stack)
        var speedo = stack.speedo
        speedo.environment["COLUMNS"] = "60"
        let run = try await speedo.run(["history", "sensor-1", "sensor-2", "--plot", "-d", stack.databaseURL] + range)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        // Per sensor: a title, 8 chart rows, the axis and the time labels.
        try #require(lines.count == 22, "\(run.stdout)")
        #expect(lines[0] == "sensor-1 (km/h)" && lines[11] == "sensor-2 (km/h)")
        #expect(lines[1].hasPrefix("100 ┤") && lines[8].hasPrefix("  0 ┤") && lines[9].hasPrefix("    └─"))
        #expect(lines[10] == "    2024-05-01T12:00:00Z                2024-05-01T12:02:00Z")
        #expect(lines.allSatisfy { $0.unicodeScalars.count <= 60 && !$0.contains("\u{1B}") })
        // sensor-2's 100 km/h at 12:00:45 is a dot in the top row, 45/120 of the way across 55 columns.
        let top = Array(lines[12].unicodeScalars.dropFirst(5))
        let column = Int((45.0 / 120 * Double(55 * 2 - 1)).rounded()) / 2
        #expect(top[column].value > 0x2800 && top.enumerated().allSatisfy { $0.offset == column || $0.element.value == 0x2800 })
    }

    @Test func validatesItsOptions() async throws {
        let speedo = SpeedoBinary(environment: ["SPEEDO_DATABASE_URL": "host=/nonexistent"])
        for arguments in [
            ["history", "s"], ["history", "s", "--since", "1h", "--until", "2h"],
            ["history", "s", "--since", "1h", "--bucket", "0s"], ["history", "s", "--since", "1h", "--limit", "0"],
            ["history", "s", "--since", "yesterday"], ["history", "s", "--since", "1h", "--parallel", "0"],
            ["history", "s", "--since", "1h", "--parallel", "17"],
        ] {
            #expect(try await speedo.run(arguments).status == 64, "\(arguments)")
        }
    }
}

/// An independent RFC 4180 reader: records of fields, quoted fields with doubled quotes, CRLF or LF line ends.
enum RFC4180 {
    struct Malformed: Error { let at: Int }

    static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        let characters = Array(text.unicodeScalars)
        var index = 0, quoted = false, fieldStarted = false
        while index < characters.count {
            let character = characters[index]
            if quoted {
                if character == "\"" {
                    if index + 1 < characters.count, characters[index + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.unicodeScalars.append(character)
                }
            } else if character == "\"" {
                guard !fieldStarted else { throw Malformed(at: index) }
                quoted = true
            } else if character == "," {
                record.append(field)
                field = ""
                fieldStarted = false
                index += 1
                continue
            } else if character == "\n" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
                fieldStarted = false
                index += 1
                continue
            } else {
                field.unicodeScalars.append(character)
            }
            fieldStarted = true
            index += 1
        }
        guard !quoted, field.isEmpty, record.isEmpty else { throw Malformed(at: index) }
        return records
    }
}
