import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import Testing

/// `status --check`'s verdict from what `status` gathered: the four states of a monitoring plugin, the levels of
/// each `--max-…`, the worst finding first, and the performance data.
@Suite struct StatusCheckTests {
    private static let now = Timestamp(microseconds: 1_700_000_000_000_000)

    /// Partition 0 of speed-events ends at 1,000 and the writer stored up to 900; the dead-letter topic holds 7.
    private static func reports(conflicts: Int = 0, lastSeen: [(String, Int64)] = []) -> (KafkaStatusReport, StoreStatusReport) {
        var kafka = KafkaStatusReport(brokers: ResolvedSetting("127.0.0.1:9092", from: .flag("--brokers")))
        kafka.watermarks = [
            "speed-events": [0: Watermarks(low: 0, high: 1_000), 1: Watermarks(low: 0, high: 50)],
            "speed-events.dlq": [0: Watermarks(low: 3, high: 10)],
        ]
        var store = StoreStatusReport(databaseURL: ResolvedSetting("postgresql:///speedo", from: .flag("--database-url")))
        store.readings = 950
        store.consumerOffsets = [
            .init(group: "speedo-history", topic: "speed-events", partition: 0, nextOffset: 900),
            .init(group: "speedo-history", topic: "speed-events", partition: 1, nextOffset: 50),
        ]
        store.conflicts = conflicts
        store.lastSeen = lastSeen.map { StoreStatusReport.SensorLastSeen(sensorID: $0.0, last: now - .seconds($0.1)) }
        return (kafka, store)
    }

    private func verdict(
        _ check: StatusCheck, _ reports: (KafkaStatusReport, StoreStatusReport) = reports()
    ) -> (state: StatusCheck.State, line: String) {
        check.evaluate(reports.0, reports.1, deadLetterTopic: "speed-events.dlq", now: Self.now)
    }

    @Test func withinEveryLevelIsOKWithThePerformanceData() {
        let check = StatusCheck(
            maxLag: .init(warning: 100, critical: 1_000), maxDeadLetters: .init(warning: 7, critical: nil), maxSilence: nil)
        let (state, line) = verdict(check)
        #expect(state == .ok)
        #expect(line == "SPEEDO OK - 950 readings, no gaps, no conflicts, 100 records not stored yet | readings=950 gaps=0 "
            + "conflicts=0 lag=100;100;1000 dead_letters=7;7")
    }

    @Test func eachLevelPassedSetsItsState() {
        let lagWarning = verdict(StatusCheck(maxLag: .init(warning: 99, critical: 1_000), maxDeadLetters: nil, maxSilence: nil))
        #expect(lagWarning.state == .warning)
        #expect(lagWarning.line.hasPrefix("SPEEDO WARNING - 100 records not stored yet (over 99) | "), "\(lagWarning.line)")

        let dlqCritical = verdict(StatusCheck(maxLag: .init(warning: 99, critical: nil), maxDeadLetters: .init(warning: 0, critical: 6), maxSilence: nil))
        #expect(dlqCritical.state == .critical)
        // The worst first, then the rest.
        #expect(dlqCritical.line.hasPrefix(
            "SPEEDO CRITICAL - 7 records in speed-events.dlq (over 6); 100 records not stored yet (over 99) | "),
            "\(dlqCritical.line)")
    }

    @Test func sensorsQuietLongerThanTheLevelsAreSilent() {
        let check = StatusCheck(
            maxLag: nil, maxDeadLetters: nil, maxSilence: .init(warning: .seconds(300), critical: .seconds(3_600)))
        let calm = verdict(check, Self.reports(lastSeen: [("a", 10), ("b", 299)]))
        #expect(calm.state == .ok)
        #expect(calm.line.hasSuffix(" silent_sensors=0 longest_silence=299s;300;3600"), "\(calm.line)")

        let warning = verdict(check, Self.reports(lastSeen: [("a", 10), ("b", 301), ("c", 900)]))
        #expect(warning.state == .warning)
        #expect(warning.line.hasPrefix("SPEEDO WARNING - 2 sensors silent for longer than 5m (the longest: c, 15m) | "),
            "\(warning.line)")

        let critical = verdict(check, Self.reports(lastSeen: [("a", 10), ("truck-7", 7_384)]))
        #expect(critical.state == .critical)
        #expect(critical.line.hasPrefix("SPEEDO CRITICAL - 1 sensor silent for longer than 5m (the longest: truck-7, 2h3m4s)"),
            "\(critical.line)")
    }

    @Test func conflictsWarnAndAnUnreachablePartIsUnknown() {
        let none = StatusCheck(maxLag: nil, maxDeadLetters: nil, maxSilence: nil)
        let conflicted = verdict(none, Self.reports(conflicts: 2))
        #expect(conflicted.state == .warning)
        #expect(conflicted.line.hasPrefix("SPEEDO WARNING - 2 conflicting readings recorded"), "\(conflicted.line)")

        var (kafka, store) = Self.reports()
        kafka.failure = "no broker answered within 10s"
        let unknown = verdict(none, (kafka, store))
        #expect(unknown.state == .unknown && unknown.state.rawValue == 3)
        #expect(unknown.line == "SPEEDO UNKNOWN - no broker answered within 10s")
        store.failure = "PostgreSQL unreachable"
        kafka.failure = nil
        #expect(verdict(none, (kafka, store)).state == .unknown)
    }

    @Test func storedOffsetsOutsideThePartitionAreCriticalNotLag() {
        var (kafka, store) = Self.reports()
        store.consumerOffsets[0].nextOffset = 5_000
        let beyond = verdict(StatusCheck(maxLag: .init(warning: 0, critical: nil), maxDeadLetters: nil, maxSilence: nil), (kafka, store))
        #expect(beyond.state == .critical)
        #expect(beyond.line.contains("stored offset 5000 beyond the end 1000"), "\(beyond.line)")
        #expect(beyond.line.contains("lag=0;0"), "\(beyond.line)")
        kafka.watermarks["speed-events"]?[0] = Watermarks(low: 4_000, high: 6_000)
        #expect(kafka.lag(of: store.consumerOffsets) == 1_000)
    }
}
