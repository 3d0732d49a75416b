import Foundation
package import HTTPTypes
package import Hummingbird
import NIOCore

/// A complete answer: status, headers (with the content type) and body, as any of speedo's servers sends it — the
/// raw NIO handler of the ingestion API writes it itself, the Hummingbird servers through `response`.
package struct HTTPAnswer: Sendable {
    package var status: HTTPResponse.Status
    package var headers: HTTPFields
    package var body: [UInt8]

    /// The same answer for a Hummingbird responder.
    package var response: Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// The answers every server builds the same way.
package enum HTTPReply {
    /// The error body of every server: `{"error":CODE,"message":…}`.
    package static func error(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]
    ) -> HTTPAnswer {
        body(status, ErrorReply(error: code, message: message).json, headers: headers)
    }

    /// 404, with what the server does serve.
    package static func notFound(_ served: String) -> HTTPAnswer {
        error(.notFound, "not-found", "no such resource; \(served)")
    }

    /// A JSON body (keys sorted).
    package static func json(_ status: HTTPResponse.Status, _ value: some Encodable, headers: HTTPFields = [:]) -> HTTPAnswer {
        body(status, JSONBody.encode(value), headers: headers)
    }

    package static func body(
        _ status: HTTPResponse.Status, _ body: [UInt8], contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) -> HTTPAnswer {
        var fields: HTTPFields = [.contentType: contentType]
        fields.append(contentsOf: headers)
        return HTTPAnswer(status: status, headers: fields, body: body)
    }

    package static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// A request that failed as a whole: `{"error":CODE,"message":…}`, with `line` and `column` where a body could not be
/// parsed.
package struct ErrorReply: Encodable, Sendable {
    package var error: String
    package var message: String
    package var line: Int?
    package var column: Int?

    package init(error: String, message: String, line: Int? = nil, column: Int? = nil) {
        (self.error, self.message, self.line, self.column) = (error, message, line, column)
    }

    package var json: [UInt8] { JSONBody.encode(self) }
}

/// JSON as every server writes it: keys sorted, so that a body is a stable text, and slashes unescaped.
package enum JSONBody {
    package static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only our own structs of strings, numbers and arrays of them are encoded: this cannot fail.
        return Array(try! encoder.encode(value))
    }
}

/// A request refused before any work: the status, a stable code and a message saying what to do.
package struct HTTPRefusal: Error, Sendable, Equatable {
    package var status: HTTPResponse.Status
    package var code: String
    package var message: String
    package var headers: HTTPFields = [:]

    package init(status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        (self.status, self.code, self.message, self.headers) = (status, code, message, headers)
    }

    package var answer: HTTPAnswer { HTTPReply.error(status, code, message, headers: headers) }

    package static func methodNotAllowed(allow: String) -> HTTPRefusal {
        HTTPRefusal(
            status: .methodNotAllowed, code: "method-not-allowed", message: "this resource accepts \(allow) only",
            headers: [.allow: allow])
    }
}
