import SpeedoCore
package import SpeedoRuntime
/// The progress line of `speedo replay` and `speedo verify`: records, rate and the time left, from the offsets the range
/// spans.
package final class ReplayProgress {
    private let started = ContinuousClock.now
    private var line: ProgressLine
    private var expected: Int64 = 0
    private var done: Int64 = 0
    private let command: String

    /// nil when `notes` show no progress line (a log file gets the summary alone): nothing to count then.
    package init?(notes: Notes, command: String = "replay") {
        guard notes.showsProgress else { return nil }
        self.command = command
        line = ProgressLine(notes: notes)
    }

    package func expect(offsets: Int64) {
        expected = offsets
    }

    package func advance(offsets: Int64) {
        done += offsets
        let (done, expected, command) = (done, expected, command)
        line.draw(elapsed: ContinuousClock.now - started) { seconds in
            let rate = Double(done) / seconds
            let left = rate > 0 ? Int(Double(max(0, expected - done)) / rate) : 0
            return "speedo \(command): \(grouped(Int(done))) of \(grouped(Int(expected))) records, \(grouped(Int(rate)))/s, "
                + "about \(left) s left"
        }
    }

    /// Clears the line before the summary.
    package func finish() {
        line.clear()
    }
}
