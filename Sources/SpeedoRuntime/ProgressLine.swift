/// The status line of long work (`ingest`, `replay`), redrawn in place through `Notes` where they show one: once the
/// work has taken more than a second, at most every `interval`.
package struct ProgressLine {
    package static let interval = Duration.milliseconds(250)
    private static let delay = Duration.seconds(1)

    private let notes: Notes
    private var lastDrawn: Duration?
    private var isShown = false

    package init(notes: Notes) {
        self.notes = notes
    }

    /// `text` gets the elapsed seconds (at least one), for rates.
    package mutating func draw(elapsed: Duration, _ text: (_ seconds: Double) -> String) {
        guard notes.showsProgress, elapsed >= Self.delay else { return }
        if let lastDrawn, elapsed - lastDrawn < Self.interval { return }
        lastDrawn = elapsed
        isShown = true
        notes.progress(text(elapsed.inSeconds))
    }

    /// Erases the line so that a message or the summary starts on a clean line.
    package func clear() {
        guard isShown else { return }
        notes.clearProgress()
    }
}
