import Foundation

/// The carriage-return-updated status line of long work (`ingest`, `replay`): shown only when stderr is a terminal,
/// once the work has taken more than a second, redrawn at most every `interval`.
package struct ProgressLine {
    package static let interval = Duration.milliseconds(250)
    private static let delay = Duration.seconds(1)

    private let enabled = Terminal.standardErrorIsTerminal
    private var lastDrawn: Duration?
    private var isShown = false

    package init() {}

    /// `text` gets the elapsed seconds (at least one), for rates.
    package mutating func draw(elapsed: Duration, _ text: (_ seconds: Double) -> String) {
        guard enabled, elapsed >= Self.delay else { return }
        if let lastDrawn, elapsed - lastDrawn < Self.interval { return }
        lastDrawn = elapsed
        isShown = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text(elapsed.inSeconds)).utf8))
    }

    /// Erases the line so that a message or the summary starts on a clean line.
    package func clear() {
        guard isShown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
