import SpeedoCore
import Testing

@Suite struct SensorGlobTests {
    @Test(arguments: [
        ("sensor-*", "sensor-12", true),
        ("sensor-*", "truck-1", false),
        ("sensor-?", "sensor-1", true),
        ("sensor-?", "sensor-12", false),
        ("*-1", "truck-1", true),
        ("*-1", "truck-12", false),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXbYY", false),
        ("sensor-1,truck-*", "truck-9", true),
        ("sensor-1,truck-*", "sensor-2", false),
        ("*", "", true),
        ("ünï?", "ünïx", true),
        ("exact", "exact", true),
        ("exact", "exactly", false),
    ])
    func matching(pattern: String, id: String, expected: Bool) throws {
        let glob = try #require(SensorGlob(pattern))
        #expect(glob.matches(id) == expected)
    }

    @Test func emptyPatternsAreNotAGlob() {
        #expect(SensorGlob("") == nil)
        #expect(SensorGlob(",,") == nil)
    }

    @Test func manyStarsStayFast() throws {
        let glob = try #require(SensorGlob(String(repeating: "*a", count: 30) + "b"))
        #expect(!glob.matches(String(repeating: "a", count: 200)))
    }
}
