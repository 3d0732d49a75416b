import Foundation
import SpeedoCore
import SpeedoStore
import SpeedoTestSupport
import Testing

/// `speedo history`'s queries against a real PostgreSQL: binary results decoded exactly, and both bucket strategies
/// (a range scan per bucket whose speeds come back as arrays, grouping with the statistics computed by the server)
/// agreeing with each other and with statistics computed here.
@Suite(.privateCluster) struct HistoryQueryTests {
    /// 2024-05-01T00:00:00Z
    private static let mayFirst = Timestamp(microseconds: 1_714_521_600_000_000)

    /// Two sensors (one with a 20-byte id, beyond Swift's inline strings), a reading every 0.7 s over 20 minutes
    /// that crosses midnight into a second daily partition, speeds with up to three decimals.
    private static let readings: [Reading] = (0..<1_700).map { index -> Reading in
        let sensorID = index % 3 == 0 ? "a-sensor-with-20-b.x" : "car-b"
        let speed = Double((index * 7_919) % 100_000) / 1_000
        let offset = TimeSpan(microseconds: Int64(index) * 700_000 - 600_000_000)
        return Reading(sensorID: sensorID, speed: speed, timestamp: mayFirst + offset)
    }

    private static func stored() async throws -> String {
        let url = try await makeDatabase(migrated: true)
        try await withConnection(url) { connection in
            try connection.ensurePartitions(
                from: Date(timeIntervalSince1970: readings.first!.timestamp.seconds),
                to: Date(timeIntervalSince1970: readings.last!.timestamp.seconds))
            var rows: [UInt8] = []
            for reading in readings {
                rows += Array("\(reading.sensorID)\t\(reading.timestamp.rfc3339)\t\(reading.speed)\n".utf8)
            }
            try connection.copy(into: "speed_readings", columns: ["sensor_id", "ts", "speed"], data: rows)
        }
        return url
    }

    /// Buckets summed from the rollups against the same buckets from the rows: count, minimum, maximum and average
    /// the same; the 95th percentile (t-digest) within the bound README.md states; and still there once `db prune`
    /// dropped the rows' partitions, while the raw path has nothing left.
    @Test func rollupsAnswerBucketsLikeTheRowsAndOutliveThem() async throws {
        let url = try await makeDatabase(migrated: true)
        // Three sensors driving for six hours at 1 Hz: a random walk between 0 and 160 km/h.
        var random = SplitMix64(seed: 11)
        var speeds = [40.0, 90.0, 120.0]
        var readings: [Reading] = []
        for second in 0..<21_600 {
            for sensor in 0..<3 {
                speeds[sensor] = min(160, max(0, speeds[sensor] + Double(Int(random.next() % 2_001) - 1_000) / 250))
                readings.append(Reading(
                    sensorID: "car-\(sensor)", speed: (speeds[sensor] * 10).rounded() / 10,
                    timestamp: Self.mayFirst + .seconds(Int64(second))))
            }
        }
        let sensors = ["car-0", "car-1", "car-2"]
        let written = readings
        let (since, until) = (Self.mayFirst, Self.mayFirst + .seconds(21_600))
        let (compared, worstP95, worstRankError, afterPrune, rawAfterPrune) = try await withConnection(url) { connection in
            let writer = HistoryWriter(conninfo: url, group: "g", topic: "speed-events")
            defer { writer.close() }
            for (index, chunk) in stride(from: 0, to: written.count, by: 20_000).enumerated() {
                var batch = HistoryBatch()
                for reading in written[chunk..<min(chunk + 20_000, written.count)] { batch.append(reading) }
                batch.advance(partition: 0, to: Int64(index + 1))
                _ = try writer.write(batch)
            }
            _ = try connection.prepareForHistoryReads()
            var compared = 0
            var worstP95: [Double] = []
            var worstRankError: [Double] = []
            for width in [TimeSpan.seconds(60), .seconds(900), .seconds(3_600), .seconds(3 * 3_600)] {
                let rolled = try connection.buckets(of: sensors, since: since, until: until, width: width, limit: nil, fromRollups: true)
                let raw = try connection.buckets(of: sensors, since: since, until: until, width: width, limit: nil)
                #expect(rolled.count == raw.count && !raw.isEmpty, "\(width)")
                worstP95.append(0)
                worstRankError.append(0)
                for (r, e) in zip(rolled, raw) {
                    #expect(r.sensorID == e.sensorID && r.start == e.start && r.count == e.count)
                    #expect(r.minimum == e.minimum && r.maximum == e.maximum)
                    #expect(abs(r.average - e.average) <= 1e-9 * max(1, e.average))
                    worstP95[worstP95.count - 1] = max(worstP95.last!, abs(r.percentile95 - e.percentile95))
                    // In ranks: how far the estimate's place among the bucket's sorted speeds is from the 95th
                    // percentile's rank, 0.95 × (n − 1).
                    let end = r.start + width
                    let bucketSpeeds = written.filter {
                        $0.sensorID == r.sensorID && $0.timestamp >= r.start && $0.timestamp < end
                    }.map(\.speed)
                    let below = Double(bucketSpeeds.count { $0 < r.percentile95 })
                    let atOrBelow = Double(bucketSpeeds.count { $0 <= r.percentile95 }) - 1
                    let target = 0.95 * Double(bucketSpeeds.count - 1)
                    // Relative to the bound: one reading, or 2 % of the bucket's readings when that is more.
                    let bound = max(1, 0.02 * Double(bucketSpeeds.count))
                    worstRankError[worstRankError.count - 1] = max(
                        worstRankError.last!, max(0, below - target, target - atOrBelow) / bound)
                    compared += 1
                }
            }
            // A rollup spoiled by hand is put right by a rebuild from the rows; a second rebuild changes nothing.
            _ = try connection.execute("UPDATE speed_rollups_1h SET readings = readings + 1, speed_max = 999")
            #expect(try RollupComparison.all(on: connection).map(\.differing) == [0, 18])
            let rebuilt = try HistoryRollups.rebuild(on: connection, since: since + .seconds(1_800))
            let again = try HistoryRollups.rebuild(on: connection, since: since + .seconds(1_800))
            #expect(try RollupComparison.all(on: connection).map(\.differing) == [0, 0])
            #expect(rebuilt.map(\.from) == [since + .seconds(1_800), since])
            #expect(again.map(\.removed) == again.map(\.written) && again.map(\.written) == rebuilt.map(\.written))

            let pruneAt = Self.mayFirst + .seconds(3 * 86_400)
            let pruned = try HistoryRetention.prune(on: connection, olderThan: .seconds(1), now: pruneAt, dryRun: false)
            #expect(pruned.partitions.count == 2 && pruned.rollupBuckets == 0)
            #expect(try connection.rowsPrunedBefore() == Self.mayFirst + .seconds(2 * 86_400))
            let afterPrune = try connection.buckets(
                of: sensors, since: since, until: until, width: .seconds(3_600), limit: nil, fromRollups: true)
            let rawAfterPrune = try connection.buckets(of: sensors, since: since, until: until, width: .seconds(3_600), limit: nil)
            // --with-rollups: the buckets of the same days go too (a dry run counts them first).
            let wouldGo = try HistoryRetention.prune(
                on: connection, olderThan: .seconds(1), now: pruneAt, dryRun: true, withRollups: true)
            let gone = try HistoryRetention.prune(
                on: connection, olderThan: .seconds(1), now: pruneAt, dryRun: false, withRollups: true)
            #expect(wouldGo.rollupBuckets == 3 * (360 + 6) && gone.rollupBuckets == wouldGo.rollupBuckets)
            #expect(try RollupComparison.all(on: connection).map(\.buckets) == [0, 0])
            return (compared, worstP95, worstRankError, afterPrune.count, rawAfterPrune.count)
        }
        #expect(compared == 3 * (360 + 24 + 6 + 2))
        // The bound README.md states: the estimate's rank is within one reading, or 2 % of the bucket's readings when
        // that is more, of the 95th percentile's (the differences in km/h by width are printed for README.md).
        print("rollups: \(compared) buckets; worst p95 difference by width (1m, 15m, 1h, 3h) \(worstP95) km/h; "
              + "worst rank error by width \(worstRankError) of the bound")
        #expect(worstRankError.allSatisfy { $0 <= 1 }, "rank errors \(worstRankError) of the bound")
        #expect(afterPrune == 18)
        #expect(rawAfterPrune == 0)
    }

    @Test func readingsComeBackExactlySensorBySensorInTheOrderGivenThenByTime() async throws {
        let url = try await Self.stored()
        let since = Self.mayFirst - .seconds(300), until = Self.mayFirst + .seconds(300)
        let sensors = ["car-b", "nobody", "a-sensor-with-20-b.x"]
        let expected = sensors.flatMap { sensor in
            Self.readings.filter { $0.sensorID == sensor && $0.timestamp >= since && $0.timestamp < until }
                .sorted { $0.timestamp < $1.timestamp }
        }
        let firstSensorCount = expected.prefix { $0.sensorID == "car-b" }.count
        // A limit past the first sensor's readings goes on into the next sensor's.
        let (found, limited, limitedAcross) = try await withConnection(url) { connection in
            _ = try connection.prepareForHistoryReads()
            return (
                try connection.readings(of: sensors, since: since, until: until, limit: nil),
                try connection.readings(of: sensors, since: since, until: until, limit: 5),
                try connection.readings(of: sensors, since: since, until: until, limit: firstSensorCount + 3))
        }
        #expect(expected.count > 800)
        #expect(firstSensorCount > 0 && firstSensorCount < expected.count - 3)
        #expect(found == expected)
        #expect(limited == Array(expected.prefix(5)))
        #expect(limitedAcross == Array(expected.prefix(firstSensorCount + 3)))
    }

    @Test(arguments: [TimeSpan.seconds(60), TimeSpan.seconds(7 * 60)])
    func bothBucketStrategiesMatchTheStatistics(width: TimeSpan) async throws {
        let url = try await Self.stored()
        // Not aligned to the width: the last bucket is cut short at `until`; it crosses midnight.
        let since = Self.mayFirst - .seconds(500), until = Self.mayFirst + .seconds(431)
        let sensors = ["car-b", "a-sensor-with-20-b.x"]
        let (byRange, byGrouping) = try await withConnection(url) { connection in
            _ = try connection.prepareForHistoryReads()
            return (
                try connection.buckets(of: sensors, since: since, until: until, width: width, limit: nil),
                try connection.buckets(of: sensors, since: since, until: until, width: width, limit: nil, rangeScanSlots: 0))
        }
        var expected: [(sensorID: String, start: Timestamp, count: Int, minimum: Double, average: Double, maximum: Double,
                        percentile95: Double)] = []
        for sensor in sensors.sorted() {
            var start = since
            while start < until {
                let end = min(start + width, until)
                let speeds = Self.readings.filter { $0.sensorID == sensor && $0.timestamp >= start && $0.timestamp < end }
                    .map(\.speed).sorted()
                if !speeds.isEmpty {
                    let rank = 0.95 * Double(speeds.count - 1)
                    let lower = Int(rank.rounded(.down))
                    let p95 = speeds[lower] + (rank - Double(lower)) * (speeds[min(lower + 1, speeds.count - 1)] - speeds[lower])
                    expected.append((
                        sensor, start, speeds.count, speeds.first!, speeds.reduce(0, +) / Double(speeds.count),
                        speeds.last!, p95))
                }
                start = end
            }
        }
        #expect(expected.count > 4)
        // The percentile computed from the arrays is the server's `percentile_cont`, to the bit.
        #expect(byRange.map(\.percentile95) == byGrouping.map(\.percentile95))
        #expect(byRange.map(\.count) == byGrouping.map(\.count))
        for found in [byRange, byGrouping] {
            try #require(found.count == expected.count)
            for (bucket, wanted) in zip(found, expected) {
                #expect(bucket.sensorID == wanted.sensorID)
                #expect(bucket.start == wanted.start)
                #expect(bucket.count == wanted.count)
                #expect(bucket.minimum == wanted.minimum && bucket.maximum == wanted.maximum)
                #expect(abs(bucket.average - wanted.average) < 1e-9)
                #expect(abs(bucket.percentile95 - wanted.percentile95) < 1e-9)
            }
        }
    }

    @Test func slicesCoverTheRangeOnBucketBoundaries() {
        let since = Timestamp(microseconds: 1_000_000_000)
        let until = since + TimeSpan(microseconds: 10 * 60_000_000 + 1)  // 10 minutes and a microsecond
        for count in 1...12 {
            for width in [nil, TimeSpan.seconds(60), TimeSpan.seconds(7 * 60)] {
                let slices = HistorySlicing.slices(since: since, until: until, width: width, count: count)
                #expect(slices.first?.since == since)
                #expect(slices.last?.until == until)
                #expect(slices.count <= count)
                #expect(zip(slices, slices.dropFirst()).allSatisfy { $0.until == $1.since && $0.since < $0.until })
                if let width {
                    #expect(slices.dropFirst().allSatisfy { ($0.since - since).microseconds % width.microseconds == 0 })
                }
            }
        }
        #expect(HistorySlicing.slices(since: since, until: until, width: nil, count: 2).count == 2)
        #expect(HistorySlicing.slices(since: since, until: since, width: nil, count: 4).count == 1)
    }
}
