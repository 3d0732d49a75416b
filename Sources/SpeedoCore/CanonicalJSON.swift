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
        buffer.append(contentsOf: #"{"sensor_id":"#.utf8)
        appendString(reading.sensorID, to: &buffer)
        buffer.append(contentsOf: #","speed":"#.utf8)
        appendNumber(reading.speed, to: &buffer)
        buffer.append(contentsOf: #","ts":"#.utf8)
        appendEpochSeconds(reading.timestamp, to: &buffer)
        buffer.append(UInt8(ascii: "}"))
    }

    /// `1700000000.5`, `1700000000.0`, `-1.25`: exact to the microsecond.
    package static func epochSeconds(_ timestamp: Timestamp) -> String {
        var buffer: [UInt8] = []
        appendEpochSeconds(timestamp, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    static func appendEpochSeconds(_ timestamp: Timestamp, to buffer: inout [UInt8]) {
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
        var divisor: Int64 = 100_000
        while fraction != 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    private static func appendInteger(_ value: Int64, to buffer: inout [UInt8]) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        var divisor: UInt64 = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude / divisor % 10))
            divisor /= 10
        }
    }

    /// Swift's `description` is already the shortest round-tripping form; only the `.0` of whole
    /// numbers is dropped (`42`, not `42.0`), as is customary in JSON.
    package static func appendNumber(_ value: Double, to buffer: inout [UInt8]) {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 {
            appendInteger(Int64(value), to: &buffer)
            return
        }
        buffer.append(contentsOf: value.description.utf8)
    }

    private static func appendString(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
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
