import Foundation
import SpeedoTestSupport
import Testing

/// The README's tour is a promise to a newcomer: every command in it runs, in order, and exits as announced.
@Suite(.programTurns) struct ReadmeTourTests {
    @Test func everyTourCommandRunsAsAnnounced() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let outcome = try await runProgram(
            [root.appendingPathComponent("scripts/readme-tour.sh").path,
             root.appendingPathComponent("README.md").path, SpeedoBinary.path],
            timeout: .seconds(360))
        #expect(outcome.status == 0, "\(outcome.stderr)\n\(outcome.stdout)")
        #expect(outcome.stderr.contains("README tour: every command ran as announced"))
    }
}
