@testable import SpeedoCore
import Testing

@Suite struct SuggestionsTests {
    let known = ["sensor-1", "sensor-10", "sensor-2", "truck-7", "sensor-100", "other"]

    @Test func closeIdsFirstThenAlphabetically() {
        #expect(Suggestions.closest(to: "sensor-3", among: known) == ["sensor-1", "sensor-2", "sensor-10"])
        #expect(Suggestions.closest(to: "sensr-1", among: known) == ["sensor-1", "sensor-10", "sensor-2"])
    }

    @Test func prefixesCountAsClose() {
        // Prefixes (either way) come before ids a few edits away.
        #expect(Suggestions.closest(to: "sensor-10", among: known, limit: 5) == ["sensor-1", "sensor-100", "sensor-2"])
        #expect(Suggestions.closest(to: "truck", among: known) == ["truck-7"])
    }

    @Test func farIdsAreNotSuggested() {
        #expect(Suggestions.closest(to: "zzzzzzzzzz", among: known).isEmpty)
        #expect(Suggestions.editDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars), atMost: 5) == 3)
        #expect(Suggestions.editDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars), atMost: 2) == nil)
    }
}
