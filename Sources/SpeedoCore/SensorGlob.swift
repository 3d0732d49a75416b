/// Selects sensors by id with shell-style patterns: `*` any run of characters, `?` one character; several
/// patterns separated by commas select the union (`sensor-1*,truck-?`). Used by `watch --sensors` and the
/// gateway's `?sensors=`, so both read a pattern the same way.
package struct SensorGlob: Sendable, Hashable, CustomStringConvertible {
    private let patterns: [[Character]]
    package let description: String

    /// `nil` when the text holds no pattern at all (empty, or only commas).
    package init?(_ text: String) {
        let patterns = text.split(separator: ",", omittingEmptySubsequences: true).map { Array($0) }
        guard !patterns.isEmpty else { return nil }
        self.patterns = patterns
        self.description = text
    }

    package func matches(_ sensorID: String) -> Bool {
        let id = Array(sensorID)
        return patterns.contains { Self.match(pattern: $0[...], id: id[...]) }
    }

    /// Iterative wildcard matching with one backtrack point: linear in practice, never exponential.
    private static func match(pattern: ArraySlice<Character>, id: ArraySlice<Character>) -> Bool {
        var p = pattern.startIndex, i = id.startIndex
        var starAt: Int? = nil, resumeAt = id.startIndex
        while i < id.endIndex {
            if p < pattern.endIndex, pattern[p] == "?" || pattern[p] == id[i] {
                p += 1
                i += 1
            } else if p < pattern.endIndex, pattern[p] == "*" {
                starAt = p
                resumeAt = i
                p += 1
            } else if let star = starAt {
                p = star + 1
                resumeAt += 1
                i = resumeAt
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == "*" { p += 1 }
        return p == pattern.endIndex
    }
}
