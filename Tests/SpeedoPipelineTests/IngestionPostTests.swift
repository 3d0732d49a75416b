import SpeedoCore
import SpeedoPipeline
import Testing

@Suite struct IngestionPostTests {
    @Test func theBodyIsAJSONArrayTheIngestionAPIDecodes() throws {
        let now = Timestamp(microseconds: 1_800_000_000_000_000)
        let readings = (0..<30).map { index in
            Reading(
                sensorID: "sensor-\(index % 3)", speed: Double(index) * 3.25,
                timestamp: now - .seconds(60) + TimeSpan(microseconds: Int64(index) * 83_333))
        }
        let body = IngestionPost.body(readings[5..<17])
        #expect(body.first == UInt8(ascii: "[") && body.last == UInt8(ascii: "]"))
        let decoded = body.withUnsafeBytes { ReadingDecoder.decodeArray(value: $0, now: now) }
        let elements = try decoded.get().map { try $0.get() }
        #expect(elements == Array(readings[5..<17]))
        #expect(IngestionPost.body([Reading]()) == Array("[]".utf8))
    }

    @Test func answersMapToWhatTheSinkDoes() {
        #expect(IngestionPost.verdict(status: 200, retryAfter: nil) == .accepted)
        #expect(IngestionPost.verdict(status: 202, retryAfter: nil) == .accepted)
        #expect(IngestionPost.verdict(status: 503, retryAfter: "2") == .retry(after: .seconds(2)))
        #expect(IngestionPost.verdict(status: 400, retryAfter: nil) == .rejected)
        #expect(IngestionPost.verdict(status: 413, retryAfter: nil) == .rejected)
        #expect(IngestionPost.verdict(status: 500, retryAfter: nil) == .failed)
        #expect(IngestionPost.verdict(status: 301, retryAfter: nil) == .failed)
    }

    @Test func retryAfterIsReadAsSecondsWithASaneFallbackAndCap() {
        #expect(IngestionPost.retryDelay(" 3 ") == .seconds(3))
        #expect(IngestionPost.retryDelay("0") == .zero)
        #expect(IngestionPost.retryDelay(nil) == IngestionPost.defaultRetryDelay)
        #expect(IngestionPost.retryDelay("Wed, 21 Oct 2015 07:28:00 GMT") == IngestionPost.defaultRetryDelay)
        #expect(IngestionPost.retryDelay("-4") == IngestionPost.defaultRetryDelay)
        #expect(IngestionPost.retryDelay("86400") == IngestionPost.longestRetryDelay)
    }
}
