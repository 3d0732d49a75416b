/// One text field of the CSV speedo writes (`history`, `replay`, `consume stdout`, `simulate --stdout`), for ids
/// that may come from writers other than speedo.
///
/// Whatever the text, the field stays one RFC 4180 field, shows nothing raw to a terminal, and is not run as a
/// spreadsheet formula:
/// - control, invisible and reordering characters (and `\`) are escaped visibly, as `table` shows them
///   (`EscapedText`), so no line break, tab or escape sequence is written raw;
/// - a field starting with `=`, `+`, `-` or `@` gets a leading `'`, which spreadsheets take as "text";
/// - a field with a comma or a double quote is quoted, its quotes doubled.
///
/// Valid sensor ids are written as they are, except that one starting with `-` gets its `'`: `ingest` removes it
/// (`withoutFormulaGuard`), so `history --format csv | speedo ingest --format csv` reads every valid id back unchanged.
package enum CSVField {
    package static func append(_ text: String, to buffer: inout [UInt8]) {
        // Nothing in the sensor-id alphabet needs escaping or quoting.
        if text.utf8.allSatisfy(ReadingRules.isAllowedInSensorID), text.utf8.first.map(startsFormula) != true {
            buffer.append(contentsOf: text.utf8)
            return
        }
        var shown = Array(EscapedText.escape(text, limit: .max).utf8)
        if let first = shown.first, startsFormula(first) { shown.insert(formulaGuard, at: 0) }
        guard shown.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") }) else {
            buffer.append(contentsOf: shown)
            return
        }
        buffer.append(UInt8(ascii: "\""))
        for byte in shown {
            if byte == UInt8(ascii: "\"") { buffer.append(byte) }
            buffer.append(byte)
        }
        buffer.append(UInt8(ascii: "\""))
    }

    /// A field as read back: without the `'` that `append` put before a leading formula character.
    package static func withoutFormulaGuard(_ field: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard field.count >= 2, field[0] == formulaGuard, startsFormula(field[1]) else { return field }
        return UnsafeRawBufferPointer(rebasing: field.dropFirst())
    }

    private static let formulaGuard = UInt8(ascii: "'")

    /// What spreadsheets evaluate when a cell starts with it (tab and CR too, but `append` has escaped those).
    private static func startsFormula(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "=") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "@")
    }
}
