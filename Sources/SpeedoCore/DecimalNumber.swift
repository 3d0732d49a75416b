/// A number in JSON's grammar (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`), kept as an exact
/// decimal `significand × 10^exponent` so that it converts to a `Double` or to microseconds without
/// an intermediate rounding.
struct DecimalNumber {
    var isNegative: Bool
    /// The first 19 significant digits.
    var significand: UInt64
    var exponent: Int
    /// More than 19 significant digits: only the slow, correctly rounded conversion is exact.
    var isTruncated: Bool
    /// How it was written: digits before and after the point, and whether an exponent followed. With the sign, all
    /// that tells whether the text is in `CanonicalJSON`'s form, without reading it again.
    var wholeDigits = 0
    var fractionDigits = 0
    var hasExponent = false

    /// Parses the whole of `bytes`; `nil` when it is not exactly one JSON number.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> DecimalNumber? {
        var end = 0
        guard let number = scan(bytes, from: 0, end: &end), end == bytes.count else { return nil }
        return number
    }

    /// Scans the longest JSON number starting at `start`, leaving `end` just after it.
    /// Returns `nil` for anything outside the grammar (`01`, `.5`, `1.`, `1e`, `+1`, `NaN`).
    @inline(__always)
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int, end: inout Int) -> DecimalNumber? {
        let count = bytes.count
        var index = start
        var number = DecimalNumber(isNegative: false, significand: 0, exponent: 0, isTruncated: false)
        if index < count, bytes[index] == UInt8(ascii: "-") {
            number.isNegative = true
            index += 1
        }
        guard index < count else { return nil }
        var significantDigits = 0
        let firstDigit = bytes[index] &- UInt8(ascii: "0")
        guard firstDigit < 10 else { return nil }
        let wholeStart = index
        if firstDigit == 0 {
            index += 1
        } else {
            while index < count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                number.accumulate(digit, significantDigits: &significantDigits, isFraction: false)
                index += 1
            }
        }
        number.wholeDigits = index - wholeStart
        if index < count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let fractionStart = index
            while index < count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                number.accumulate(digit, significantDigits: &significantDigits, isFraction: true)
                index += 1
            }
            guard index > fractionStart else { return nil }
            number.fractionDigits = index - fractionStart
        }
        if index < count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            number.hasExponent = true
            index += 1
            var exponentIsNegative = false
            if index < count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentIsNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            var explicitExponent = 0
            while index < count {
                let digit = bytes[index] &- UInt8(ascii: "0")
                guard digit < 10 else { break }
                // Saturate: anything this large is infinite or zero anyway.
                if explicitExponent < 100_000 { explicitExponent = explicitExponent * 10 + Int(digit) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            number.exponent += exponentIsNegative ? -explicitExponent : explicitExponent
        }
        end = index
        return number
    }

    @inline(__always)
    private mutating func accumulate(_ digit: UInt8, significantDigits: inout Int, isFraction: Bool) {
        if significantDigits == 0 && digit == 0 {
            // Leading zeros carry no significance but still shift a fraction.
            if isFraction { exponent -= 1 }
            return
        }
        if significantDigits < 19 {
            significand = significand * 10 + UInt64(digit)
            significantDigits += 1
            if isFraction { exponent -= 1 }
        } else {
            if digit != 0 { isTruncated = true }
            if !isFraction { exponent += 1 }
        }
    }

    /// The correctly rounded `Double`. Small significands with small exponents are exact in binary
    /// (Clinger's fast path: one correctly rounded multiplication or division); everything else goes
    /// through the standard library's correctly rounded parser, given the original text in `source`.
    func doubleValue(source: UnsafeRawBufferPointer) -> Double? {
        if !isTruncated, significand <= 1 << 53, (-22...22).contains(exponent) {
            // Powers of ten up to 10^22 are exact doubles, and so is every product on the way there.
            var scale = 1.0
            for _ in 0..<exponent.magnitude { scale *= 10 }
            let value = exponent < 0 ? Double(significand) / scale : Double(significand) * scale
            return isNegative ? -value : value
        }
        return Double(String(decoding: source, as: UTF8.self))
    }

    /// Rounded to the nearest microsecond (half away from zero) when `self` is seconds; `nil` when it
    /// does not fit comfortably in an `Int64` of microseconds.
    func microseconds(source: UnsafeRawBufferPointer) -> Int64? {
        guard !isTruncated else {
            return doubleValue(source: source).flatMap(Timestamp.init(seconds:))?.microseconds
        }
        let shift = exponent + 6
        var magnitude: UInt64
        if shift >= 0 {
            guard shift <= 18 else { return significand == 0 ? 0 : nil }
            let (product, overflow) = significand.multipliedReportingOverflow(by: Self.integerPowerOfTen(shift))
            guard !overflow, product <= UInt64(Int64.max) else { return nil }
            magnitude = product
        } else {
            guard shift >= -19 else { return 0 }
            let divisor = Self.integerPowerOfTen(-shift)
            let (quotient, remainder) = significand.quotientAndRemainder(dividingBy: divisor)
            magnitude = quotient + (remainder >= divisor - remainder ? 1 : 0)
        }
        return isNegative ? -Int64(magnitude) : Int64(magnitude)
    }

    private static func integerPowerOfTen(_ exponent: Int) -> UInt64 {
        var value: UInt64 = 1
        for _ in 0..<exponent { value &*= 10 }
        return value
    }
}

extension DecimalNumber: Equatable {}
