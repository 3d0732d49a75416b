import SpeedoTUI
import Testing

@Suite struct BrailleChartTests {
    @Test func cornersLandOnTheirDots() {
        let chart = BrailleChart(columns: 2, rows: 1, xRange: 0...10, yRange: 0...100)
        // Bottom-left is dot 7 (0x40) of the first cell, top-right dot 4 (0x08) of the second: U+2840, U+2808.
        #expect(chart.render([(0, 0), (10, 100)]) == ["\u{2840}\u{2808}"])
        #expect(chart.render([]) == ["\u{2800}\u{2800}"])
    }

    @Test func valuesOutsideTheRangeAreClampedAndRowsGoTopDown() {
        let chart = BrailleChart(columns: 1, rows: 2, xRange: 0...1, yRange: 0...10)
        // 8 dot rows: 1000 km/h clamps to the top dot (0x01 of the top cell), -5 to the bottom one (0x40 below).
        #expect(chart.render([(0, 1000), (0, -5)]) == ["\u{2801}", "\u{2840}"])
    }
}
