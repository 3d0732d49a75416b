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
