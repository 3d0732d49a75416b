/// A forward-only JSON tokenizer over one line of UTF-8 bytes: enough of RFC 8259 to read one object,
/// locate the values of interest and skip every other value, however nested, without allocating.
struct JSONScanner {
    enum Kind: Equatable {
        case string
        case number(DecimalNumber)
        case trueLiteral, falseLiteral, null
        case object, array
    }

    /// A value's position in the line (quotes included for strings).
    struct Value {
        var kind: Kind
        var start: Int
        var end: Int
        var hasEscapes = false

        func text(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: line[start..<end])
        }

        /// A string's bytes between the quotes, escapes not resolved.
        func content(in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: line[(start + 1)..<(end - 1)])
        }
    }

    static let maximumDepth = 64

    let line: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ line: UnsafeRawBufferPointer) {
        self.line = line
    }

    var isAtEnd: Bool { position >= line.count }

    @inline(__always)
    func peek() -> UInt8? { position < line.count ? line[position] : nil }

    @inline(__always)
    mutating func advance() { position += 1 }

    @inline(__always)
    static func skipWhitespace(_ line: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < line.count {
            switch line[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): index += 1
            default: return index
            }
        }
        return index
    }

    @inline(__always)
    mutating func skipWhitespace() { position = Self.skipWhitespace(line, from: position) }

    /// A structural error at the current position (or at `column`, 1-based, counted in bytes).
    func malformed(_ problem: String, column: Int? = nil) -> Rejection {
        Rejection.malformedLine("\(problem) at column \(column ?? position + 1)", line)
    }

    /// `"key"` and the colon after it, with the whitespace around them.
    @inline(__always)
    mutating func scanKey() throws(Rejection) -> Value {
        skipWhitespace()
        guard peek() == UInt8(ascii: "\"") else { throw malformed("expected a string key") }
        let key = try scanString()
        skipWhitespace()
        guard peek() == UInt8(ascii: ":") else { throw malformed("expected ':' after the key") }
        advance()
        skipWhitespace()
        return key
    }

    /// What follows an element of an array or object: true at the container's `closer`, false at a comma (another
    /// element follows), both consumed. `input` names what ended too early in the message ("line", "body").
    @inline(__always)
    mutating func scanSeparator(closer: UInt8, input: String = "line") throws(Rejection) -> Bool {
        skipWhitespace()
        guard let separator = peek() else { throw malformed("unexpected end of \(input)") }
        advance()
        if separator == closer { return true }
        guard separator == UInt8(ascii: ",") else {
            throw malformed("expected ',' or '\(Character(Unicode.Scalar(closer)))'", column: position)
        }
        return false
    }

    @inline(__always)
    mutating func scanValue() throws(Rejection) -> Value {
        guard let byte = peek() else { throw malformed("unexpected end of line") }
        switch byte {
        case UInt8(ascii: "\""):
            return try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try scanNumber()
        case UInt8(ascii: "t"):
            return try scanLiteral("true", .trueLiteral)
        case UInt8(ascii: "f"):
            return try scanLiteral("false", .falseLiteral)
        case UInt8(ascii: "n"):
            return try scanLiteral("null", .null)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            return try skipComposite()
        default:
            throw malformed("unexpected character")
        }
    }

    @inline(__always)
    private mutating func scanNumber() throws(Rejection) -> Value {
        let start = position
        var end = start
        guard let number = DecimalNumber.scan(line, from: start, end: &end) else {
            throw malformed("invalid number", column: start + 1)
        }
        if end < line.count {
            switch line[end] {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "+"), UInt8(ascii: "-"),
                UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                throw malformed("invalid number", column: start + 1)
            default:
                break
            }
        }
        position = end
        return Value(kind: .number(number), start: start, end: end)
    }

    private mutating func scanLiteral(_ word: StaticString, _ kind: Kind) throws(Rejection) -> Value {
        let start = position
        let length = word.utf8CodeUnitCount
        guard start + length <= line.count,
            UnsafeRawBufferPointer(start: word.utf8Start, count: length).elementsEqual(line[start..<(start + length)])
        else { throw malformed("unexpected character") }
        position += length
        return Value(kind: kind, start: start, end: position)
    }

    /// At the opening quote; checks escapes and rejects raw control characters, as JSON requires.
    @inline(__always)
    mutating func scanString() throws(Rejection) -> Value {
        let start = position
        var index = start + 1
        var hasEscapes = false
        let count = line.count
        while true {
            guard index < count else { throw malformed("unterminated string starting", column: start + 1) }
            let byte = line[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                hasEscapes = true
                guard index + 1 < count else { throw malformed("unterminated string starting", column: start + 1) }
                switch line[index + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 2
                case UInt8(ascii: "u"):
                    guard index + 6 <= count, (index + 2..<index + 6).allSatisfy({ Self.hexValue(line[$0]) != nil })
                    else { throw malformed("invalid \\u escape", column: index + 1) }
                    index += 6
                default:
                    throw malformed("invalid escape", column: index + 1)
                }
                continue
            }
            guard byte >= 0x20 else { throw malformed("control character in string", column: index + 1) }
            index += 1
        }
        position = index + 1
        return Value(kind: .string, start: start, end: position, hasEscapes: hasEscapes)
    }

    /// Skips an object or array. Iterative, with the container kinds of the open levels as bits of
    /// one word, so that hostile nesting costs neither stack nor heap.
    private mutating func skipComposite() throws(Rejection) -> Value {
        let start = position
        var depth = 0
        var objectLevels: UInt64 = 0
        var isInsideObject: Bool { objectLevels >> UInt64(depth - 1) & 1 == 1 }

        func closer(isObject: Bool) -> UInt8 { isObject ? UInt8(ascii: "}") : UInt8(ascii: "]") }

        while true {
            // Here a value is expected.
            let byte = peek()
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                guard depth < Self.maximumDepth else {
                    throw malformed("nested deeper than \(Self.maximumDepth) levels")
                }
                let isObject = byte == UInt8(ascii: "{")
                objectLevels = isObject ? objectLevels | 1 << UInt64(depth) : objectLevels & ~(1 << UInt64(depth))
                depth += 1
                advance()
                skipWhitespace()
                if peek() == closer(isObject: isObject) {
                    advance()
                    depth -= 1
                } else {
                    if isObject { _ = try scanKey() }
                    continue
                }
            } else {
                _ = try scanValue()
            }
            // After a value: commas and closers until the next value or the end of the outermost container.
            while true {
                if depth == 0 {
                    return Value(kind: line[start] == UInt8(ascii: "{") ? .object : .array, start: start, end: position)
                }
                skipWhitespace()
                guard let separator = peek() else { throw malformed("unexpected end of line") }
                if separator == closer(isObject: isInsideObject) {
                    advance()
                    depth -= 1
                    continue
                }
                guard separator == UInt8(ascii: ",") else {
                    throw malformed(isInsideObject ? "expected ',' or '}'" : "expected ',' or ']'")
                }
                advance()
                skipWhitespace()
                if isInsideObject { _ = try scanKey() }
                break
            }
        }
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Appends the UTF-8 of a string `value` (already checked by `scanString`) with escapes resolved.
    static func unescape(
        _ value: Value, in line: UnsafeRawBufferPointer, into output: inout [UInt8]
    ) throws(Rejection) {
        var index = value.start + 1
        let end = value.end - 1
        while index < end {
            let byte = line[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            let escape = line[index + 1]
            switch escape {
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                let escapeStart = index
                var scalar = hexQuad(line, at: index + 2)
                index += 6
                if (0xD800...0xDBFF).contains(scalar), index + 6 <= end, line[index] == UInt8(ascii: "\\"),
                    line[index + 1] == UInt8(ascii: "u")
                {
                    let low = hexQuad(line, at: index + 2)
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                        index += 6
                    }
                }
                guard let decoded = Unicode.Scalar(scalar) else {
                    throw JSONScanner(line).malformed("unpaired surrogate in \\u escape", column: escapeStart + 1)
                }
                output.append(contentsOf: UTF8.encode(decoded)!)
                continue
            default: output.append(escape)  // \" \\ \/
            }
            index += 2
        }
    }

    private static func hexQuad(_ line: UnsafeRawBufferPointer, at index: Int) -> UInt32 {
        (index..<index + 4).reduce(0) { $0 << 4 | (hexValue(line[$1]) ?? 0) }
    }
}
