package import SpeedoCore

/// `speedo status --check`: one line and the exit code of a monitoring plugin (Nagios, Icinga, Sensu and their kin),
/// from what `status` gathered. The line is `SPEEDO STATE - what | performance data`.
package struct StatusCheck: Sendable {
    /// The plugin convention's states; their raw values are the exit codes.
    package enum State: Int32, Sendable, Comparable {
        case ok = 0, warning = 1, critical = 2, unknown = 3

        package static func < (lhs: State, rhs: State) -> Bool { lhs.rawValue < rhs.rawValue }

        var word: String {
            switch self {
            case .ok: "OK"
            case .warning: "WARNING"
            case .critical: "CRITICAL"
            case .unknown: "UNKNOWN"
            }
        }
    }

    /// A `--max-…` option: a value over `warning` is a WARNING, over `critical` (when given) a CRITICAL.
    package struct Threshold<Value: Comparable & Sendable>: Sendable {
        package var warning: Value
        package var critical: Value?

        package init(warning: Value, critical: Value?) {
            (self.warning, self.critical) = (warning, critical)
        }

        func state(of value: Value) -> State {
            if let critical, value > critical { return .critical }
            return value > warning ? .warning : .ok
        }
    }

    /// Records the writers' groups have not stored yet, summed over every partition.
    package var maxLag: Threshold<Int64>?
    /// Records held in the dead-letter topic.
    package var maxDeadLetters: Threshold<Int64>?
    /// How long a sensor heard from within `silenceHorizon` may have been quiet.
    package var maxSilence: Threshold<TimeSpan>?

    /// Sensors quiet for longer than this are taken for gone (decommissioned), not silent.
    package static let silenceHorizon = TimeSpan.days(7)

    package init(maxLag: Threshold<Int64>?, maxDeadLetters: Threshold<Int64>?, maxSilence: Threshold<TimeSpan>?) {
        (self.maxLag, self.maxDeadLetters, self.maxSilence) = (maxLag, maxDeadLetters, maxSilence)
    }

    /// The state and its line. `deadLetterTopic`: where the writers put what is not a reading; `now`: the time the
    /// silences are measured at.
    package func evaluate(
        _ kafka: KafkaStatusReport, _ store: StoreStatusReport, deadLetterTopic: String, now: Timestamp
    ) -> (state: State, line: String) {
        if let failure = kafka.failure ?? store.failure {
            return (.unknown, "SPEEDO UNKNOWN - \(failure)")
        }
        var findings: [(state: State, words: String)] = kafka.troubles(in: store.consumerOffsets).map { (.critical, $0) }
        if !store.gaps.isEmpty {
            let missing = store.gaps.reduce(Int64(0)) { $0 + $1.recordCount }
            findings.append((.critical, "\(count(store.gaps.count, "gap")) not acknowledged (\(grouped(missing)) "
                + "records missing from the history; `speedo db gaps`)"))
        }
        if store.conflicts > 0 {
            findings.append((.warning, "\(count(store.conflicts, "conflicting reading")) recorded (the last at "
                + "\(store.lastConflict?.rfc3339 ?? "?"))"))
        }

        let lag = kafka.lag(of: store.consumerOffsets)
        let deadLetters = kafka.records(in: deadLetterTopic)
        var performance = [
            "readings=\(store.readings)", "gaps=\(store.gaps.count)", "conflicts=\(store.conflicts)",
            Self.performance("lag", lag, maxLag), Self.performance("dead_letters", deadLetters, maxDeadLetters),
        ]
        if let maxLag, maxLag.state(of: lag) > .ok {
            findings.append((maxLag.state(of: lag), "\(count(lag, "record")) not stored yet (over \(Self.limit(maxLag, lag)))"))
        }
        if let maxDeadLetters, maxDeadLetters.state(of: deadLetters) > .ok {
            findings.append((
                maxDeadLetters.state(of: deadLetters),
                "\(count(deadLetters, "record")) in \(deadLetterTopic) (over \(Self.limit(maxDeadLetters, deadLetters)))"))
        }
        if let maxSilence {
            let silences = store.lastSeen.map { (sensor: $0.sensorID, quiet: now - $0.last) }
            let worst = silences.max { $0.quiet < $1.quiet }
            let silent = silences.filter { maxSilence.state(of: $0.quiet) > .ok }
            performance.append("silent_sensors=\(silent.count)")
            performance.append(
                "longest_silence=\(Int64((worst?.quiet.seconds ?? 0).rounded()))s;\(Int64(maxSilence.warning.seconds))"
                    + (maxSilence.critical.map { ";\(Int64($0.seconds))" } ?? ""))
            if let worst, !silent.isEmpty {
                findings.append((
                    maxSilence.state(of: worst.quiet),
                    "\(count(silent.count, "sensor")) silent for longer than \(maxSilence.warning) (the longest: "
                        + "\(EscapedText.escape(worst.sensor)), \(Self.rounded(worst.quiet)))"))
            }
        }

        let state = findings.map(\.state).max() ?? .ok
        // The worst first, so that a line cut short by the monitoring system still says why.
        let words = findings.filter { $0.state == state }.map(\.words)
            + findings.filter { $0.state != state && $0.state > .ok }.map(\.words)
        let summary = words.isEmpty
            ? "\(count(store.readings, "reading")), no gaps, no conflicts, \(count(lag, "record")) not stored yet"
            : words.joined(separator: "; ")
        return (state, "SPEEDO \(state.word) - \(summary) | " + performance.joined(separator: " "))
    }

    private static func performance(_ label: String, _ value: Int64, _ threshold: Threshold<Int64>?) -> String {
        guard let threshold else { return "\(label)=\(value)" }
        return "\(label)=\(value);\(threshold.warning)" + (threshold.critical.map { ";\($0)" } ?? "")
    }

    private static func limit(_ threshold: Threshold<Int64>, _ value: Int64) -> String {
        if let critical = threshold.critical, value > critical { return grouped(critical) }
        return grouped(threshold.warning)
    }

    /// A silence to the second: `2h3m4s`.
    private static func rounded(_ span: TimeSpan) -> String {
        TimeSpan.seconds(Int64(span.seconds.rounded())).description
    }
}

extension KafkaStatusReport {
    /// Records after the stored offsets, up to each partition's end; stored offsets outside the partition count as
    /// troubles, not lag.
    package func lag(of offsets: [StoreStatusReport.ConsumerOffset]) -> Int64 {
        offsets.reduce(0) { total, offset in
            guard let marks = watermarks[offset.topic]?[offset.partition],
                case .lag(let records) = Position(next: offset.nextOffset, marks)
            else { return total }
            return total + records
        }
    }

    /// Records `topic` holds now (0 when it does not exist).
    package func records(in topic: String) -> Int64 {
        (watermarks[topic] ?? [:]).values.reduce(0) { $0 + ($1.high - $1.low) }
    }
}
