import ArgumentParser
import SpeedoCore

/// `--since`/`--until`, shared by the commands that look back in time.
struct TimeRangeOptions: ParsableArguments {
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Start of the range (inclusive): a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.",
            discussion: "Times from 1970-01-01 to 9999-12-31 (UTC). @EPOCH is in seconds (@1700000000); a Kafka "
                + "timestamp in milliseconds takes ms (@1700000000000ms).",
            valueName: "time"))
    var since: String

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("End of the range (exclusive), written like --since.", valueName: "time"))
    var until = "now"

    /// The range as instants; a usage error (exit 64) when a time does not parse or the range is empty.
    func resolve(now: Timestamp) throws -> (since: Timestamp, until: Timestamp) {
        try Self.resolve(since: since, until: until, now: now)
    }

    /// The same for a command whose --since is optional (`verify`).
    static func resolve(since: String, until: String, now: Timestamp) throws -> (since: Timestamp, until: Timestamp) {
        let start = try OptionBounds.time(since, "--since", now: now)
        let end = try OptionBounds.time(until, "--until", now: now)
        guard end > start else {
            throw ValidationError("--until (\(end.rfc3339)) must be after --since (\(start.rfc3339))")
        }
        return (start, end)
    }
}
