import SpeedoRuntime
import Synchronization
import Testing

/// The status line of long work reaches the user through `Notes`: not before a second of work, not more often than
/// every 250 ms, erased only when it was shown, and not at all where no one watches it redrawn.
@Suite struct ProgressLineTests {
    /// What a `Notes` with a progress line received: `nil` for an erase.
    final class Screen: Sendable {
        let updates = Mutex<[String?]>([])
        let lines = Mutex<[String]>([])
        var notes: Notes {
            Notes({ line in self.lines.withLock { $0.append(line) } },
                  progress: { update in self.updates.withLock { $0.append(update) } })
        }
    }

    @Test func drawsAfterASecondAtMostFourTimesASecondThenErases() {
        let screen = Screen()
        var line = ProgressLine(notes: screen.notes)
        for milliseconds in stride(from: 0, through: 2_000, by: 50) {
            line.draw(elapsed: .milliseconds(milliseconds)) { seconds in "at \(seconds)" }
        }
        line.clear()
        #expect(screen.updates.withLock { $0 } == ["at 1.0", "at 1.25", "at 1.5", "at 1.75", "at 2.0", nil])
        #expect(screen.lines.withLock { $0 }.isEmpty)
    }

    @Test func workShorterThanASecondLeavesNoTrace() {
        let screen = Screen()
        var line = ProgressLine(notes: screen.notes)
        line.draw(elapsed: .milliseconds(900)) { _ in "too early" }
        line.clear()
        #expect(screen.updates.withLock { $0 }.isEmpty)
    }

    @Test func notesWithoutAProgressLineGetNone() {
        let lines = Mutex<[String]>([])
        let notes = Notes { line in lines.withLock { $0.append(line) } }
        #expect(!notes.showsProgress)
        var line = ProgressLine(notes: notes)
        line.draw(elapsed: .seconds(5)) { _ in Issue.record("drawn where nothing shows it"); return "" }
        line.clear()
        #expect(lines.withLock { $0 }.isEmpty)
    }
}
