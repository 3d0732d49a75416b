/// Untrusted text made safe for a terminal or a log line: nothing in the result can move the
/// cursor, reorder the line (bidi overrides), hide characters (zero-width), or be mistaken for
/// valid text (invalid UTF-8).
///
/// Escapes: `\n` `\r` `\t` `\\`, other control characters, bidi controls, zero-width and other format
/// characters, separators, private-use and unassigned code points as `\u{1B}`, invalid UTF-8 bytes as
/// `\xFF`. Longer than `limit` characters: cut, then `…`.
package enum EscapedText {
    package static let defaultLimit = 40

    /// `asciiOnly` escapes every non-ASCII character too (`\u{5BBD}`), for terminals without UTF-8.
    package static func escape(_ text: String, limit: Int = defaultLimit, asciiOnly: Bool = false) -> String {
        escape(utf8: Array(text.utf8), limit: limit, quote: false, asciiOnly: asciiOnly)
    }

    /// The same, between double quotes, with `"` escaped too (for values that were strings).
    package static func quoted(_ text: String, limit: Int = defaultLimit) -> String {
        escape(utf8: Array(text.utf8), limit: limit, quote: true)
    }

    package static func escape(bytes: some Collection<UInt8>, limit: Int = defaultLimit) -> String {
        escape(utf8: Array(bytes), limit: limit, quote: false)
    }

    package static func quoted(bytes: some Collection<UInt8>, limit: Int = defaultLimit) -> String {
        escape(utf8: Array(bytes), limit: limit, quote: true)
    }

    private static func escape(utf8 bytes: [UInt8], limit: Int, quote: Bool, asciiOnly: Bool = false) -> String {
        var output = quote ? "\"" : ""
        var shown = 0
        var index = 0
        while index < bytes.count {
            if shown >= limit {
                output += "…"
                break
            }
            guard let (scalar, length) = decodeScalar(bytes, at: index) else {
                output += "\\x" + hex(UInt32(bytes[index]), width: 2)
                index += 1
                shown += 1
                continue
            }
            index += length
            shown += 1
            output += rendering(of: scalar, quote: quote, asciiOnly: asciiOnly)
        }
        if quote { output += "\"" }
        return output
    }

    private static func rendering(of scalar: Unicode.Scalar, quote: Bool, asciiOnly: Bool) -> String {
        switch scalar.value {
        case 0x0A: return "\\n"
        case 0x0D: return "\\r"
        case 0x09: return "\\t"
        case 0x5C: return "\\\\"
        case 0x22 where quote: return "\\\""
        case 0x00...0x1F, 0x7F...0x9F,  // C0, DEL, C1 controls
            0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF:  // invisible or reordering
            return "\\u{" + hex(scalar.value, width: 1) + "}"
        default:
            if asciiOnly, !scalar.isASCII { return "\\u{" + hex(scalar.value, width: 1) + "}" }
            switch scalar.properties.generalCategory {
            // Other invisible or undrawable characters: format (tags, soft hyphen), line and paragraph
            // separators, private use and unassigned code points.
            case .format, .lineSeparator, .paragraphSeparator, .privateUse, .unassigned, .surrogate, .control:
                return "\\u{" + hex(scalar.value, width: 1) + "}"
            default:
                return String(Character(scalar))
            }
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// One well-formed UTF-8 sequence at `index` (no overlongs, no surrogates, ≤ U+10FFFF), or `nil`.
    static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int)? {
        let lead = bytes[index]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int
        var value: UInt32
        var lowest: UInt32
        switch lead {
        case 0xC2...0xDF: (length, value, lowest) = (2, UInt32(lead & 0x1F), 0x80)
        case 0xE0...0xEF: (length, value, lowest) = (3, UInt32(lead & 0x0F), 0x800)
        case 0xF0...0xF4: (length, value, lowest) = (4, UInt32(lead & 0x07), 0x10000)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        for offset in 1..<length {
            let continuation = bytes[index + offset]
            guard continuation & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        guard value >= lowest, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}
