import Foundation
import SpeedoCore

/// The JSON bodies of the HTTP ingestion API. Keys are written sorted, so that a body is a stable text.
///
/// - `POST /speed` when every reading got an answer from validation and the broker:
///   `{"accepted":N,"rejected":[…]}`, 200 when N ≥ 1 (rejected readings, if any, are listed: resending them cannot
///   help), 400 when every reading was rejected.
/// - when some valid reading was not confirmed by the broker (failed, timed out, or not queued because the queue was
///   full): 503 with `Retry-After` and `{"accepted":N,"error":…,"message":…,"rejected":[…],"unconfirmed":[indexes]}`;
///   the client resends exactly the `unconfirmed` readings (the `accepted` ones are on the topic).
/// - any other failure: `{"error":CODE,"message":…}` (plus `line` and `column` for malformed JSON).
struct SpeedReply: Encodable, Sendable {
    struct RejectedReading: Encodable, Sendable {
        var index: Int
        var line: Int?
        var field: String
        var code: String
        var rule: String
        var value: String?
        var message: String
    }

    var accepted: Int
    var rejected: [RejectedReading]
    var error: String?
    var message: String?
    var unconfirmed: [Int]?

    init(accepted: Int, rejected: [RejectedReading], failure: (error: String, message: String, unconfirmed: [Int])? = nil) {
        self.accepted = accepted
        self.rejected = rejected
        self.error = failure?.error
        self.message = failure?.message
        self.unconfirmed = failure?.unconfirmed
    }

    static func rejected(_ item: SpeedBodyItem, _ rejection: Rejection) -> RejectedReading {
        RejectedReading(
            index: item.index, line: item.line, field: rejection.field, code: rejection.code.rawValue,
            rule: rejection.rule, value: rejection.value, message: rejection.description)
    }

    var json: [UInt8] {
        // The answer to nearly every request, written without the encoder.
        if rejected.isEmpty && error == nil { return Array(#"{"accepted":\#(accepted),"rejected":[]}"#.utf8) }
        return JSONBody.encode(self)
    }
}

/// A request that failed as a whole.
struct ErrorReply: Encodable, Sendable {
    var error: String
    var message: String
    var line: Int?
    var column: Int?

    var json: [UInt8] { JSONBody.encode(self) }
}

/// `GET /healthz`.
struct HealthReply: Encodable, Sendable {
    var status: String
    var brokers: String
    var topic: String
    var message: String?
    /// Records queued or in flight.
    var outstanding: Int

    var json: [UInt8] { JSONBody.encode(self) }
}

enum JSONBody {
    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Only our own structs of strings, integers and arrays of them are encoded: this cannot fail.
        return Array(try! encoder.encode(value))
    }
}
