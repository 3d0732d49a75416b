package import SpeedoCore
import SpeedoHTTP

/// The JSON bodies of the HTTP ingestion API. Keys are written sorted, so that a body is a stable text.
///
/// - `POST /speed` when every reading got an answer from validation and the broker:
///   `{"accepted":N,"rejected":[…]}`, 200 when N ≥ 1 (rejected readings, if any, are listed: resending them cannot
///   help), 400 when every reading was rejected.
/// - when some valid reading was not confirmed by the broker (failed, timed out, or not queued because the queue was
///   full): 503 with `Retry-After` and `{"accepted":N,"error":…,"message":…,"rejected":[…],"unconfirmed":[indexes]}`;
///   the client resends exactly the `unconfirmed` readings (the `accepted` ones are on the topic).
/// - any other failure: `ErrorReply`, `{"error":CODE,"message":…}` (plus `line` and `column` for malformed JSON).
package struct SpeedReply: Encodable, Sendable {
    package struct RejectedReading: Encodable, Sendable {
        package var index: Int
        package var line: Int?
        package var field: String
        package var code: String
        package var rule: String
        package var value: String?
        package var message: String
    }

    package var accepted: Int
    package var rejected: [RejectedReading]
    package var error: String?
    package var message: String?
    package var unconfirmed: [Int]?

    package init(accepted: Int, rejected: [RejectedReading], failure: (error: String, message: String, unconfirmed: [Int])? = nil) {
        self.accepted = accepted
        self.rejected = rejected
        self.error = failure?.error
        self.message = failure?.message
        self.unconfirmed = failure?.unconfirmed
    }

    package static func rejected(_ item: SpeedBodyItem, _ rejection: Rejection) -> RejectedReading {
        RejectedReading(
            index: item.index, line: item.line, field: rejection.field, code: rejection.code.rawValue,
            rule: rejection.rule, value: rejection.value, message: rejection.description)
    }

    package var json: [UInt8] {
        // The answer to nearly every request, written without the encoder.
        if rejected.isEmpty && error == nil { return Array(#"{"accepted":\#(accepted),"rejected":[]}"#.utf8) }
        return JSONBody.encode(self)
    }
}
