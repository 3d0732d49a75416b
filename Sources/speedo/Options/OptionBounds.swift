import ArgumentParser
import SpeedoCore

/// The range check of every numeric, duration and time option, called from the commands' `validate()`: a value out
/// of its range is a usage error (exit 64) that names the option, the rule and the value as typed, before anything
/// runs, so no value can overflow a computation later.
///
/// Options that take numbers or durations are declared with `parsing: .unconditional`, so that `--limit -5` reaches
/// this check (and says what is wrong) instead of being read as an unknown flag.
enum OptionBounds {
    /// `value` when `range` holds it (a NaN never is).
    @discardableResult
    static func check<Value: Comparable>(
        _ value: Value, _ option: String, _ range: ClosedRange<Value>, shown: String? = nil, hint: String = ""
    ) throws -> Value {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be \(rule(range)) (got \(shown ?? "\(value)"))\(hint)")
        }
        return value
    }

    /// `value` when it is at least `range.lowerBound` (for options bounded only by their type).
    @discardableResult
    static func check<Value: Comparable>(_ value: Value, _ option: String, _ range: PartialRangeFrom<Value>) throws -> Value {
        guard range.contains(value) else {
            throw ValidationError("\(option) must be at least \(range.lowerBound) (got \(value))")
        }
        return value
    }

    /// `text` as a duration (`90s`, `1h30m`) within `range`.
    static func duration(_ text: String, _ option: String, _ range: ClosedRange<TimeSpan>, hint: String = "") throws -> TimeSpan {
        let span: TimeSpan
        do {
            span = try TimeSpan.parse(text)
        } catch {
            let sign = text.hasPrefix("-") ? "; durations take no sign" : ""
            throw ValidationError("\(option): \(error)\(sign)")
        }
        return try check(span, option, range, shown: text, hint: hint)
    }

    /// The times `--since`, `--until` and `--start` may name: later ones overflow what PostgreSQL and Kafka store.
    static let times = Timestamp(microseconds: 0)...Timestamp(microseconds: 253_402_300_799_000_000)

    /// `text` as a time (a duration back from `now`, RFC 3339, `@EPOCH`) within `times`.
    static func time(_ text: String, _ option: String, now: Timestamp) throws -> Timestamp {
        let time: Timestamp
        do {
            time = try TimeExpression.parse(text, now: now)
        } catch {
            let sign = text.hasPrefix("-") ? "; a duration counts back from now and takes no sign (5m is five minutes ago)" : ""
            throw ValidationError("\(option): \(error)\(sign)")
        }
        let shown = text.hasPrefix("@") || text.first?.isNumber == true && !text.contains("-") ? "\(text), that is \(time.rfc3339)" : text
        return try check(time, option, times, shown: shown)
    }

    private static func rule<Value>(_ range: ClosedRange<Value>) -> String {
        "from \(range.lowerBound) to \(range.upperBound)"
    }
}
