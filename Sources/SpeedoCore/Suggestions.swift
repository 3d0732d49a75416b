/// "Did you mean …?": the known names closest to a mistyped one.
package enum Suggestions {
    /// Up to `limit` of `candidates` that start with `name` or are within a few edits of it (about a third of its
    /// length, at least 2), closest first, ties in alphabetical order.
    package static func closest(to name: String, among candidates: [String], limit: Int = 3) -> [String] {
        let typed = Array(name.unicodeScalars)
        let allowed = max(2, typed.count / 3)
        var scored: [(distance: Int, name: String)] = []
        for candidate in candidates where candidate != name {
            let scalars = Array(candidate.unicodeScalars)
            if scalars.starts(with: typed) || typed.starts(with: scalars) {
                scored.append((0, candidate))
            } else if let distance = editDistance(typed, scalars, atMost: allowed) {
                scored.append((distance, candidate))
            }
        }
        return scored.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }.prefix(limit).map(\.name)
    }

    /// Levenshtein distance, or nil once it must exceed `bound` (which keeps long candidate lists cheap).
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], atMost bound: Int) -> Int? {
        guard abs(a.count - b.count) <= bound else { return nil }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...max(1, a.count) where !a.isEmpty {
            current[0] = i
            var rowMinimum = current[0]
            for j in 1...max(1, b.count) where !b.isEmpty {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
                rowMinimum = min(rowMinimum, current[j])
            }
            guard rowMinimum <= bound else { return nil }
            swap(&previous, &current)
        }
        let distance = a.isEmpty ? b.count : previous[b.count]
        return distance <= bound ? distance : nil
    }
}
