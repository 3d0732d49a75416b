@testable import SpeedoTUI
import Testing

@Suite struct TextTableTests {
    @Test func alignsColumnsByDisplayCells() {
        var table = TextTable([.init("SENSOR"), .init("READINGS", .right)])
        table.append(["sensor-1", "12"])
        table.append(["s", "1,234"])
        #expect(table.render() == [
            "SENSOR    READINGS",
            "sensor-1        12",
            "s            1,234",
        ])
    }

    @Test func wideCharactersTakeTwoCells() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("速度") == 4)
        #expect(DisplayWidth.of("e\u{301}") == 1)
    }

    @Test func lastColumnIsNotPaddedWithTrailingSpaces() {
        var table = TextTable([.init("A"), .init("LONG HEADER")])
        table.append(["xyz", ""])
        #expect(table.render() == ["A    LONG HEADER", "xyz"])
    }
}
