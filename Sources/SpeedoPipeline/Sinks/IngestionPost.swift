package import SpeedoCore

/// The client's side of the ingestion API (`simulate --via URL`, `HTTPReadingSink`): what is posted and what the
/// answer means. Pure, so that it is tested without a server.
package enum IngestionPost {
    package static let method = "POST"
    package static let contentType = "application/json"

    /// `[{"sensor_id":…},…]`: a JSON array of the readings in canonical form, as the seed's simulator posted them.
    package static func body(_ readings: some Collection<Reading>) -> [UInt8] {
        var body: [UInt8] = [UInt8(ascii: "[")]
        body.reserveCapacity(readings.count * 64 + 2)
        for (position, reading) in readings.enumerated() {
            if position > 0 { body.append(UInt8(ascii: ",")) }
            CanonicalJSON.append(reading, to: &body)
        }
        body.append(UInt8(ascii: "]"))
        return body
    }

    package enum Verdict: Sendable, Equatable {
        /// 2xx: the API took the readings.
        case accepted
        /// 503: the API is applying backpressure; send the same batch again after the delay.
        case retry(after: Duration)
        /// 4xx: the API refused the readings themselves; sending them again would not help.
        case rejected
        /// Any other status.
        case failed
    }

    /// Waits longer than this are shortened: a run should not stall silently for minutes.
    package static let longestRetryDelay = Duration.seconds(30)
    /// When a 503 carries no usable Retry-After.
    package static let defaultRetryDelay = Duration.seconds(1)

    package static func verdict(status: Int, retryAfter: String?) -> Verdict {
        switch status {
        case 200..<300: .accepted
        case 503: .retry(after: retryDelay(retryAfter))
        case 400..<500: .rejected
        default: .failed
        }
    }

    /// Retry-After in its delay-seconds form (`2`); anything else, the HTTP-date form included, means
    /// `defaultRetryDelay`.
    package static func retryDelay(_ header: String?) -> Duration {
        let words = header?.split(whereSeparator: { $0 == " " || $0 == "\t" }) ?? []
        guard words.count == 1, let seconds = Int64(words[0]), seconds >= 0 else { return defaultRetryDelay }
        return min(.seconds(seconds), longestRetryDelay)
    }
}
