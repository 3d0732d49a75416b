import Foundation

/// The progress line of `speedo replay` (records, rate, ETA from the offsets left), redrawn on stderr at most
/// once a second, and only when stderr is a terminal: a log file gets the summary alone.
final class ReplayProgress {
    private let started = ContinuousClock.now
    private var lastDrawn = ContinuousClock.now
    private var expected: Int64 = 0
    private var done: Int64 = 0

    static func onTerminal() -> ReplayProgress? {
        Terminal.standardErrorIsTerminal ? ReplayProgress() : nil
    }

    func expect(offsets: Int64) {
        expected = offsets
    }

    func advance(offsets: Int64) {
        done += offsets
        let now = ContinuousClock.now
        guard now - lastDrawn >= .seconds(1) else { return }
        lastDrawn = now
        let seconds = max((now - started) / .seconds(1), 0.001)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Int(Double(max(0, expected - done)) / rate) : 0
        FileHandle.standardError.write(Data(
            "\rspeedo replay: \(done) of \(expected) records, \(Int(rate))/s, about \(eta) s left\u{1B}[K".utf8))
    }

    /// Clears the line before the summary.
    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
