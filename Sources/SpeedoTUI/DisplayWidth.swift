import CNCurses

/// How many terminal cells text occupies, so columns line up whatever the characters.
package enum DisplayWidth {
    package static func of(_ text: some StringProtocol) -> Int {
        var cells = 0
        withUTF8CharacterTables {
            for scalar in text.unicodeScalars {
                let width = speedo_wcwidth(wchar_t(bitPattern: scalar.value))
                // Unknown to the tables (-1): count one cell, the width terminals give replacement glyphs.
                cells += width < 0 ? 1 : Int(width)
            }
        }
        return cells
    }

    /// wcwidth answers from the current locale's tables, which know no non-ASCII character under the
    /// C locale that scripts and CI run with; C.UTF-8 (always present on Debian) is adopted for the
    /// calling thread only, leaving the process locale alone.
    private static func withUTF8CharacterTables(_ body: () -> Void) {
        guard let tables = utf8Tables.locale else { return body() }
        let previous = uselocale(tables)
        defer { uselocale(previous) }
        body()
    }

    private static let utf8Tables = LocaleHandle(name: "C.UTF-8")
}

/// A locale_t that lives as long as the process; created once and never changed, so sharing it is safe.
private final class LocaleHandle: @unchecked Sendable {
    let locale: locale_t?

    init(name: String) {
        locale = newlocale(LC_CTYPE_MASK, name, nil)
    }
}
