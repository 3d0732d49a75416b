import Foundation
package import SpeedoCore
import SpeedoRuntime

/// How a `POST /speed` body is framed, from its `Content-Type`.
///
/// `application/json` is exactly one JSON value: an object (one reading) or an array of objects. Several objects one
/// after another are not JSON and are refused as malformed, with a hint to send them as an array or as NDJSON: a
/// body's framing is decided by its declared type, never guessed. `application/x-ndjson` (also `application/ndjson`)
/// is one object per line; blank lines are skipped.
package enum SpeedBodyFormat: Sendable {
    case json
    case ndjson

    package static let acceptedTypes = "application/json or application/x-ndjson"

    /// nil for any other media type. Parameters such as `charset=utf-8` are ignored: JSON is UTF-8.
    package init?(contentType: String?) {
        guard let contentType else { return nil }
        // Compared byte by byte: this runs for every request, and Foundation's trimming and lowercasing took 5 % of
        // the server's CPU.
        var mediaType = Substring(contentType).utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = mediaType.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { mediaType.removeFirst() }
        while let last = mediaType.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { mediaType.removeLast() }
        func isMediaType(_ name: String) -> Bool {
            mediaType.lazy.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }.elementsEqual(name.utf8)
        }
        if isMediaType("application/json") {
            self = .json
        } else if isMediaType("application/x-ndjson") || isMediaType("application/ndjson") {
            self = .ndjson
        } else {
            return nil
        }
    }
}

/// One reading of a body, or why it was not accepted, with where it was.
package struct SpeedBodyItem: Sendable {
    /// 0-based position among the body's readings (array elements, or non-blank NDJSON lines).
    package var index: Int
    /// 1-based line of the body, for NDJSON.
    package var line: Int?
    package var outcome: Result<Reading, Rejection>
}

/// A body that could not be read as readings at all: answered 400 as a whole.
package struct MalformedBody: Error, Sendable, Equatable {
    /// `malformed-json`, or `no-readings` for a body with nothing in it.
    package var code = "malformed-json"
    package var message: String
    /// 1-based, in bytes, when the decoder named a position.
    package var line: Int?
    package var column: Int?
}

package enum SpeedBodyDecoder {
    package static func decode(
        _ body: UnsafeRawBufferPointer, format: SpeedBodyFormat, now: Timestamp, stamps: ReceptionStamps
    ) -> Result<[SpeedBodyItem], MalformedBody> {
        let items: Result<[SpeedBodyItem], MalformedBody>
        switch format {
        case .json: items = decodeJSON(body, now: now, stamps: stamps)
        case .ndjson: items = .success(decodeNDJSON(body, now: now, stamps: stamps))
        }
        if case .success(let decoded) = items, decoded.isEmpty {
            return .failure(MalformedBody(code: "no-readings", message: "the body holds no readings"))
        }
        return items
    }

    private static func decodeJSON(
        _ body: UnsafeRawBufferPointer, now: Timestamp, stamps: ReceptionStamps
    ) -> Result<[SpeedBodyItem], MalformedBody> {
        let first = body.firstIndex { !isJSONWhitespace($0) }
        guard let first else { return .success([]) }
        switch body[first] {
        case UInt8(ascii: "["):
            return ReadingDecoder.decodeArray(value: body, now: now, missingTime: .received(stamps))
                .map { $0.enumerated().map { SpeedBodyItem(index: $0.offset, line: nil, outcome: $0.element) } }
                .mapError { malformed($0, in: body) }
        case UInt8(ascii: "{"):
            let outcome = ReadingDecoder.decode(value: body, now: now, missingTime: .received(stamps))
            if case .failure(let rejection) = outcome, rejection.code == .malformedLine {
                return .failure(malformed(rejection, in: body))
            }
            return .success([SpeedBodyItem(index: 0, line: nil, outcome: outcome)])
        default:
            return .failure(MalformedBody(
                message: "expected a JSON object or array at line 1, column \(first + 1)", line: 1, column: first + 1))
        }
    }

    private static func decodeNDJSON(
        _ body: UnsafeRawBufferPointer, now: Timestamp, stamps: ReceptionStamps
    ) -> [SpeedBodyItem] {
        var splitter = LineSplitter(maximumLineLength: max(body.count, 1))
        var decoder = ReadingDecoder(format: .ndjson, missingTime: .received(stamps))
        var items: [SpeedBodyItem] = []
        func take(_ line: LineSplitter.Line) {
            let outcome: Result<Reading, Rejection>
            switch decoder.decode(line, now: now) {
            case .skipped: return
            case .reading(let reading): outcome = .success(reading)
            case .rejected(let rejection): outcome = .failure(rejection)
            }
            items.append(SpeedBodyItem(index: items.count, line: line.number, outcome: outcome))
        }
        splitter.feed(body, take)
        splitter.finish(take)
        return items
    }

    /// The decoder counts columns in bytes from the start of the body; a person reads lines and columns.
    private static func malformed(_ rejection: Rejection, in body: UnsafeRawBufferPointer) -> MalformedBody {
        let marker = " at column "
        guard let range = rejection.rule.range(of: marker, options: .backwards),
            let offset = Int(rejection.rule[range.upperBound...]), offset >= 1, offset <= body.count + 1
        else { return MalformedBody(message: rejection.rule) }
        let problem = rejection.rule[..<range.lowerBound]
        let before = UnsafeRawBufferPointer(rebasing: body[..<(offset - 1)])
        let line = before.count { $0 == UInt8(ascii: "\n") } + 1
        let lineStart = (before.lastIndex(of: UInt8(ascii: "\n")) ?? -1) + 1
        let column = offset - lineStart
        var message = "\(problem) at line \(line), column \(column)"
        if problem.hasPrefix("unexpected text after the object") {
            message += " (several readings: send a JSON array, or NDJSON with Content-Type: application/x-ndjson)"
        }
        return MalformedBody(message: message, line: line, column: column)
    }

    private static func isJSONWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\t")
    }
}
