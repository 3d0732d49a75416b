/// The one JSON form a reading takes on the topic:
/// `{"sensor_id":"sensor-1","speed":42,"ts":1700000000.5}`: keys in this order, no spaces, `speed` as
/// the shortest text that reads back to the same `Double`, `ts` as epoch seconds with up to six
/// fractional digits (always at least one, so that it reads as a time, not a count).
package enum CanonicalJSON {
    package static func encode(_ reading: Reading) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64)
        append(reading, to: &buffer)
        return buffer
    }

    package static func append(_ reading: Reading, to buffer: inout [UInt8]) {
        appendLiteral(#"{"sensor_id":"#, to: &buffer)
        appendString(reading.sensorID, to: &buffer)
        appendLiteral(#","speed":"#, to: &buffer)
        appendNumber(reading.speed, to: &buffer)
        appendLiteral(#","ts":"#, to: &buffer)
        appendEpochSeconds(reading.timestamp, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }

    /// A plain copy of the literal's bytes (appending a `String.UTF8View` goes through a slower generic path).
    @inline(__always)
    private static func appendLiteral(_ text: StaticString, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `1700000000.5`, `1700000000.0`, `-1.25`: exact to the microsecond.
    package static func epochSeconds(_ timestamp: Timestamp) -> String {
        var buffer: [UInt8] = []
        appendEpochSeconds(timestamp, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    package static func appendEpochSeconds(_ timestamp: Timestamp, to buffer: inout [UInt8]) {
        var (whole, fraction) = timestamp.microseconds.quotientAndRemainder(dividingBy: 1_000_000)
        if fraction < 0 {
            buffer.append(UInt8(ascii: "-"))
            fraction = -fraction
            whole = -whole
        }
        appendInteger(whole, to: &buffer)
        buffer.append(UInt8(ascii: "."))
        guard fraction != 0 else {
            buffer.append(UInt8(ascii: "0"))
            return
        }
        var significant = 6
        while fraction % 10 == 0 {
            fraction /= 10
            significant -= 1
        }
        appendDigits(of: UInt64(fraction), minimumCount: significant, to: &buffer)
    }

    private static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        appendDigits(of: value.magnitude, minimumCount: 1, to: &buffer)
    }

    /// Digits written backwards into a stack buffer: division by the constant 10 compiles to a multiplication,
    /// which matters on the ingest hot path (three numbers per record) and for the times `history` and `replay` print.
    @inline(__always)
    static func appendDigits(of value: UInt64, minimumCount: Int, to buffer: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var remaining = value
            var start = 20
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            } while remaining != 0 || 20 - start < minimumCount
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
        }
    }

    /// Swift's `description` is already the shortest round-tripping form; only the `.0` of whole
    /// numbers is dropped (`42`, not `42.0`), as is customary in JSON.
    ///
    /// Speeds usually have a few decimals: the shortest form is then the fewest fraction digits `k` for which
    /// `n / 10^k` (n = value × 10^k rounded) is the same `Double` again (IEEE division rounds exactly as reading the
    /// decimal text does), printed without going through `String`.
    package static func appendNumber(_ value: Double, to buffer: inout [UInt8]) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            appendInteger(Int64(value), to: &buffer)
            return
        }
        if value >= 0.001, value < 1e9 {
            var scale = 1.0
            for fractionDigits in 1...6 {
                scale *= 10
                let scaled = (value * scale).rounded()
                if scaled / scale == value {
                    let (whole, fraction) = UInt64(scaled).quotientAndRemainder(dividingBy: UInt64(scale))
                    appendDigits(of: whole, minimumCount: 1, to: &buffer)
                    buffer.append(UInt8(ascii: "."))
                    appendDigits(of: fraction, minimumCount: fractionDigits, to: &buffer)
                    return
                }
            }
        }
        buffer.append(contentsOf: value.description.utf8)
    }

    /// Whether `text`, scanned as `number`, which reads as `value`, is what `appendNumber(value)` writes. Only the
    /// two forms of short numbers are recognized (anything else is encoded again, which is always right): a whole
    /// number, or up to nine whole digits, a point and up to six fraction digits ending in a non-zero; no sign, no
    /// exponent (the JSON grammar already leaves out leading zeros). Such a text has at most 15 significant digits, so
    /// no shorter decimal reads as the same `Double`, and it is the form `appendNumber` finds first.
    static func isCanonicalNumber(_ text: UnsafeRawBufferPointer, scannedAs number: DecimalNumber, value: Double) -> Bool {
        guard !number.isNegative, !number.hasExponent else { return false }
        if number.fractionDigits == 0 { return value == value.rounded() && abs(value) < 1e15 }
        return number.wholeDigits <= 9 && number.fractionDigits <= 6 && text[text.count - 1] != UInt8(ascii: "0")
            && value >= 0.001 && value < 1e9
    }

    /// Whether `text`, scanned as `number`, is what `appendEpochSeconds` writes for the time it reads as: whole
    /// seconds, a point, and up to six fraction digits ending in a non-zero, or `.0`; no sign, no exponent.
    static func isCanonicalEpochSeconds(_ text: UnsafeRawBufferPointer, scannedAs number: DecimalNumber) -> Bool {
        guard !number.isNegative, !number.hasExponent, (1...6).contains(number.fractionDigits) else { return false }
        return text[text.count - 1] != UInt8(ascii: "0") || number.fractionDigits == 1
    }

    /// A JSON string, escaping what JSON requires (ids read back from a database may hold anything).
    package static func appendString(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        // Sensor ids are validated, so nothing needs escaping: copy them whole.
        let copied = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
                return false
            }
            buffer.append(contentsOf: bytes)
            return true
        }
        if copied == true {
            buffer.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(byte)
            case 0..<0x20:
                let hexDigits = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: "\\u00".utf8)
                buffer.append(hexDigits[Int(byte >> 4)])
                buffer.append(hexDigits[Int(byte & 0xF)])
            default:
                buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }
}
