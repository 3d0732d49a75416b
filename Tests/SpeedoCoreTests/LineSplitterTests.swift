import Testing

@testable import SpeedoCore

@Suite struct LineSplitterTests {
    struct SplitLine: Equatable, CustomStringConvertible {
        var number: Int
        var text: [UInt8]
        var isTruncated = false
        var description: String { "\(number): \(EscapedText.escape(bytes: text))\(isTruncated ? " (truncated)" : "")" }
    }

    static func split(_ input: [UInt8], chunkSize: Int, maximumLineLength: Int = 1 << 20) -> [SplitLine] {
        var splitter = LineSplitter(maximumLineLength: maximumLineLength)
        var lines: [SplitLine] = []
        let collect = { (line: LineSplitter.Line) in
            lines.append(SplitLine(number: line.number, text: Array(line.bytes), isTruncated: line.isTruncated))
        }
        var start = 0
        while start < input.count {
            let end = min(start + chunkSize, input.count)
            Array(input[start..<end]).withUnsafeBytes { splitter.feed($0, collect) }
            start = end
        }
        splitter.finish(collect)
        return lines
    }

    static func lines(_ texts: [String]) -> [SplitLine] {
        texts.enumerated().map { SplitLine(number: $0.offset + 1, text: Array($0.element.utf8)) }
    }

    @Test func splitsTheSameWhateverTheChunkSize() {
        let input = Array(
            "\u{FEFF}first\r\nsecond\n\n  \r\nthe fifth line is longer than eight bytes\nlast\u{FEFF}".utf8)
        let expected = Self.lines([
            "first", "second", "", "  ", "the fifth line is longer than eight bytes", "last\u{FEFF}",
        ])
        for chunkSize in 1...input.count {
            #expect(Self.split(input, chunkSize: chunkSize) == expected, "chunk size \(chunkSize)")
        }
    }

    @Test func byteOrderMarkOnlyAtTheStartIsSkipped() {
        #expect(Self.split(Array("a\n\u{FEFF}b\n".utf8), chunkSize: 100) == Self.lines(["a", "\u{FEFF}b"]))
        #expect(
            Self.split([0xEF, 0xBB, 0x41, 0x0A], chunkSize: 1) == [SplitLine(number: 1, text: [0xEF, 0xBB, 0x41])])
        #expect(Self.split([0xEF, 0xBB], chunkSize: 1) == [SplitLine(number: 1, text: [0xEF, 0xBB])])
        #expect(Self.split([0xEF, 0xBB, 0xBF], chunkSize: 1) == [])
        #expect(Self.split([], chunkSize: 1) == [])
    }

    @Test func finalNewlineDoesNotAddAnEmptyLine() {
        #expect(Self.split(Array("a\nb\n".utf8), chunkSize: 3) == Self.lines(["a", "b"]))
        #expect(Self.split(Array("a\nb".utf8), chunkSize: 3) == Self.lines(["a", "b"]))
        #expect(Self.split(Array("\n".utf8), chunkSize: 3) == Self.lines([""]))
        // A lone CR is data; only the CR of CRLF goes.
        #expect(Self.split(Array("a\rb\r\r\n".utf8), chunkSize: 2) == Self.lines(["a\rb\r"]))
    }

    @Test func overlongLinesAreCutAndFlagged() {
        let input = Array("0123456789abcdefXYZ\nshort\n0123456789abcdefghij".utf8)
        for chunkSize in [1, 5, 16, 100] {
            #expect(
                Self.split(input, chunkSize: chunkSize, maximumLineLength: 16) == [
                    SplitLine(number: 1, text: Array("0123456789abcdef".utf8), isTruncated: true),
                    SplitLine(number: 2, text: Array("short".utf8)),
                    SplitLine(number: 3, text: Array("0123456789abcdef".utf8), isTruncated: true),
                ], "chunk size \(chunkSize)")
        }
    }

    /// A line that never ends (`/dev/zero`) is delivered, cut, as soon as it is too long, and its length so far is
    /// known, so that a reader can name it and give up instead of reading on in silence.
    @Test func anOverlongLineIsDeliveredBeforeItsNewline() {
        var splitter = LineSplitter(maximumLineLength: 16)
        var delivered: [(Int, Int, Bool)] = []
        for _ in 0..<5 {
            Array(repeating: UInt8(0), count: 10).withUnsafeBytes { chunk in
                splitter.feed(chunk) { delivered.append(($0.number, $0.bytes.count, $0.isTruncated)) }
            }
        }
        #expect(delivered.count == 1 && delivered[0] == (1, 16, true))
        #expect(splitter.overlongLine?.number == 1 && splitter.overlongLine?.length == 50)
        Array("tail\nnext\n".utf8).withUnsafeBytes { chunk in
            splitter.feed(chunk) { delivered.append(($0.number, $0.bytes.count, $0.isTruncated)) }
        }
        #expect(delivered.count == 2 && delivered[1] == (2, 4, false), "\(delivered)")
        #expect(splitter.overlongLine == nil)
    }

    @Test func linesInsideOneChunkAreNotCopied() {
        var splitter = LineSplitter()
        Array("one\ntwo\nthr".utf8).withUnsafeBytes { chunk in
            let range = UInt(bitPattern: chunk.baseAddress!)..<UInt(bitPattern: chunk.baseAddress! + chunk.count)
            var seen = 0
            splitter.feed(chunk) { line in
                seen += 1
                #expect(range.contains(UInt(bitPattern: line.bytes.baseAddress!)))
            }
            #expect(seen == 2)
        }
    }

    @Test func newlineSearchMatchesAByteScan() {
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in
                Bool.random(using: &generator) ? UInt8(ascii: "\n") : UInt8.random(in: 0...255, using: &generator)
            }
            let start = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            let expected = bytes.indices.first { $0 >= start && bytes[$0] == UInt8(ascii: "\n") }
            bytes.withUnsafeBytes { #expect(LineSplitter.firstNewline(in: $0, from: start) == expected) }
        }
    }
}
