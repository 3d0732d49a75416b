/// Cuts a byte stream, arriving in arbitrary chunks (read(2) buffers), into lines.
///
/// Lines are handed to a closure as `Line`s whose bytes are valid only during the call. A line that
/// lies wholly inside one chunk is passed without copying (a view into the chunk); only a line that
/// straddles chunks is assembled in an internal buffer. The newline is not included, the CR of a
/// CRLF is removed, a UTF-8 byte order mark at the very start of the stream is skipped, and a final
/// line without newline is delivered by `finish`. Line numbers count from 1 and include blank lines,
/// so they match what an editor shows. A line longer than `maximumLineLength` is delivered cut (flagged) as soon as
/// it is that long, not at its newline, which may never come (`/dev/zero`); the rest of it is skipped.
package struct LineSplitter: Sendable {
    package struct Line {
        package let bytes: UnsafeRawBufferPointer
        package let number: Int
        /// The line was longer than `maximumLineLength`; `bytes` holds only its beginning.
        package let isTruncated: Bool
    }

    package let maximumLineLength: Int
    private var pending: [UInt8] = []
    /// The beginning of the current line was delivered (cut); its bytes up to the next newline are dropped.
    private var isSkippingRestOfLine = false
    /// Bytes of the current line that arrived in earlier chunks (kept or skipped).
    private var unterminatedLength = 0
    private var lastLineNumber = 0
    private var isAtStreamStart = true

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Lines longer than `maximumLineLength` are cut (and flagged) instead of buffered without bound.
    package init(maximumLineLength: Int = 1 << 20) {
        self.maximumLineLength = maximumLineLength
    }

    /// The line still without its newline, once it is longer than `maximumLineLength`: its number and its length so
    /// far, for a caller that gives up on input that is not lines at all.
    package var overlongLine: (number: Int, length: Int)? {
        isSkippingRestOfLine ? (lastLineNumber, unterminatedLength) : nil
    }

    package mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (Line) throws -> Void) rethrows {
        var start = 0
        if isAtStreamStart {
            start = skipByteOrderMark(chunk)
            guard !isAtStreamStart else { return }
        }
        let count = chunk.count
        while start < count {
            guard let newline = Self.firstNewline(in: chunk, from: start) else {
                try appendPending(UnsafeRawBufferPointer(rebasing: chunk[start...]), body)
                return
            }
            let piece = UnsafeRawBufferPointer(rebasing: chunk[start..<newline])
            if isSkippingRestOfLine {
                isSkippingRestOfLine = false
            } else if pending.isEmpty {
                try emit(piece, isTruncated: false, body)
            } else {
                try appendPending(piece, body)
                if isSkippingRestOfLine { isSkippingRestOfLine = false } else { try emitPending(isTruncated: false, body) }
            }
            unterminatedLength = 0
            start = newline + 1
        }
    }

    /// Delivers the last line when the stream did not end with a newline.
    package mutating func finish(_ body: (Line) throws -> Void) rethrows {
        // Fewer than three bytes may have arrived, all a prefix of the byte order mark: they are a line.
        isAtStreamStart = false
        defer { (isSkippingRestOfLine, unterminatedLength) = (false, 0) }
        guard !pending.isEmpty, !isSkippingRestOfLine else { return }
        try emitPending(isTruncated: false, body)
    }

    /// The stream's first bytes may split the byte order mark across chunks: they wait in `pending`
    /// until three bytes have arrived or one differs from the mark.
    private mutating func skipByteOrderMark(_ chunk: UnsafeRawBufferPointer) -> Int {
        var consumed = 0
        while pending.count < 3, consumed < chunk.count {
            let byte = chunk[consumed]
            guard byte == Self.byteOrderMark[pending.count] else {
                isAtStreamStart = false
                return consumed
            }
            pending.append(byte)
            consumed += 1
        }
        if pending.count == 3 {
            pending.removeAll(keepingCapacity: true)
            isAtStreamStart = false
        }
        return consumed
    }

    private mutating func appendPending(_ bytes: UnsafeRawBufferPointer, _ body: (Line) throws -> Void) rethrows {
        unterminatedLength += bytes.count
        guard !isSkippingRestOfLine else { return }
        let room = maximumLineLength - pending.count
        if bytes.count > room {
            pending.append(contentsOf: bytes.prefix(max(room, 0)))
            try emitPending(isTruncated: true, body)
            isSkippingRestOfLine = true
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private mutating func emitPending(isTruncated: Bool, _ body: (Line) throws -> Void) rethrows {
        defer { pending.removeAll(keepingCapacity: pending.count <= 1 << 16) }
        try pending.withUnsafeBytes { bytes in try emit(bytes, isTruncated: isTruncated, body) }
    }

    private mutating func emit(
        _ bytes: UnsafeRawBufferPointer, isTruncated: Bool, _ body: (Line) throws -> Void
    ) rethrows {
        lastLineNumber += 1
        var line = bytes
        if !isTruncated, line.last == UInt8(ascii: "\r") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if line.count > maximumLineLength {
            try body(
                Line(
                    bytes: UnsafeRawBufferPointer(rebasing: line.prefix(maximumLineLength)), number: lastLineNumber,
                    isTruncated: true))
        } else {
            try body(Line(bytes: line, number: lastLineNumber, isTruncated: isTruncated))
        }
    }

    /// Eight bytes at a time: a word has a newline byte exactly when the classic "has zero byte" test
    /// fires on the word XOR-ed with repeated `\n`.
    @inline(__always)
    static func firstNewline(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let count = bytes.count
        var index = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let newlines = ones &* UInt64(UInt8(ascii: "\n"))
        while index + 8 <= count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)) ^ newlines
            let found = (word &- ones) & ~word & highs
            if found != 0 { return index + found.trailingZeroBitCount / 8 }
            index += 8
        }
        while index < count {
            if bytes[index] == UInt8(ascii: "\n") { return index }
            index += 1
        }
        return nil
    }
}
