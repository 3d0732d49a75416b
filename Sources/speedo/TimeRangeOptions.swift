import ArgumentParser
import SpeedoCore

/// `--since`/`--until`, shared by the commands that look back in time.
struct TimeRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Start of the range (inclusive): a duration back from now (90s, 15m, 1h, 7d), an RFC 3339 time or @EPOCH.",
        valueName: "time"))
    var since: String

    @Option(help: ArgumentHelp("End of the range (exclusive), written like --since.", valueName: "time"))
    var until = "now"

    /// The range as instants; a usage error (exit 64) when a time does not parse or the range is empty.
    func resolve(now: Timestamp) throws -> (since: Timestamp, until: Timestamp) {
        let start: Timestamp, end: Timestamp
        do {
            start = try TimeExpression.parse(since, now: now)
            end = try TimeExpression.parse(until, now: now)
        } catch {
            throw ValidationError("\(error)")
        }
        guard end > start else {
            throw ValidationError("--until (\(end.rfc3339)) must be after --since (\(start.rfc3339))")
        }
        return (start, end)
    }
}
