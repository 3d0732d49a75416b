import AsyncHTTPClient
package import Foundation
import NIOCore
import NIOHTTP1
package import SpeedoCore
package import SpeedoRuntime
import Synchronization

/// `simulate --via URL`: posts the readings as JSON arrays of at most `batchSize` to the ingestion
/// API (`speedo ingest --listen`), as the seed's simulator did. A 503 is backpressure: the same
/// batch is sent again after Retry-After. An API that cannot be reached is retried with backoff
/// (it may still be starting) before the run fails.
///
/// The requests go through AsyncHTTPClient (kept-alive connections, http and https), not Foundation's URLSession,
/// whose libcurl and its libraries cost every speedo command about 8 ms of start-up just by being linked.
package struct HTTPReadingSink: ReadingSink {
    package let url: URL
    package let batchSize: Int
    package let isInterrupted: @Sendable () -> Bool
    private let notes: Notes
    private let client = HTTPClient.shared
    private static let requestTimeout = TimeAmount.seconds(30)

    package init(url: URL, batchSize: Int, isInterrupted: @escaping @Sendable () -> Bool, notes: Notes) {
        (self.notes, self.url, self.batchSize, self.isInterrupted) = (notes, url, batchSize, isInterrupted)
    }

    package mutating func write(_ batch: [Reading]) throws -> SinkState {
        var start = batch.startIndex
        while start < batch.endIndex {
            let end = min(start + batchSize, batch.endIndex)
            try post(batch[start..<end])
            start = end
        }
        return .open
    }

    package func finish() throws {}

    private func post(_ readings: ArraySlice<Reading>) throws {
        let request = try HTTPClient.Request(
            url: url, method: HTTPMethod(rawValue: IngestionPost.method),
            headers: ["Content-Type": IngestionPost.contentType], body: .bytes(IngestionPost.body(readings)))
        let started = ContinuousClock.now
        var failedAttempts = 0
        var hasReportedBackpressure = false
        while true {
            let answer: Answer
            do {
                answer = try send(request)
            } catch {
                failedAttempts += 1
                let elapsed = ContinuousClock.now - started
                guard !isInterrupted(), let delay = Backoff.startup.delay(afterFailedAttempts: failedAttempts, elapsed: elapsed)
                else {
                    throw CommandFailure(
                        .unavailable,
                        "cannot reach the ingestion API at \(url) (\(error)) after \(failedAttempts) "
                            + "attempts; is `speedo ingest --listen` running there?")
                }
                if failedAttempts == 1 {
                    notes.note(
                        "speedo simulate: cannot reach the ingestion API at \(url) (\(error)); retrying")
                }
                Thread.sleep(forTimeInterval: delay.inSeconds)
                continue
            }
            switch IngestionPost.verdict(status: answer.status, retryAfter: answer.retryAfter) {
            case .accepted:
                return
            case .retry(let delay):
                guard !isInterrupted() else {
                    throw CommandFailure(
                        .notDelivered,
                        "interrupted while the ingestion API at \(url) was busy (HTTP 503): "
                            + "\(readings.count) readings were not delivered")
                }
                if !hasReportedBackpressure {
                    notes.note("speedo simulate: the ingestion API is busy (HTTP 503); retrying after \(delay)")
                    hasReportedBackpressure = true
                }
                Thread.sleep(forTimeInterval: delay.inSeconds)
            case .rejected:
                throw CommandFailure(
                    .inputRejected,
                    "the ingestion API at \(url) refused \(readings.count) readings with HTTP \(answer.status): "
                        + "\(answer.excerpt); check that --via names the API's /speed endpoint")
            case .failed:
                throw CommandFailure(
                    .notDelivered,
                    "the ingestion API at \(url) answered HTTP \(answer.status) (\(answer.excerpt)); "
                        + "\(readings.count) readings were not delivered")
            }
        }
    }

    private struct Answer: Sendable {
        var status: Int
        var retryAfter: String?
        var body: ByteBuffer?

        /// The start of the body, escaped: it is the server's text, shown on our terminal.
        var excerpt: String {
            guard let body, body.readableBytes > 0 else { return "no body" }
            return EscapedText.quoted(String(decoding: body.readableBytesView.prefix(200), as: UTF8.self))
        }
    }

    /// One request, waited for on this (the simulation's own) thread, which is none of the client's event loops.
    private func send(_ request: HTTPClient.Request) throws -> Answer {
        let response = try client.execute(request: request, deadline: .now() + Self.requestTimeout).wait()
        return Answer(
            status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), body: response.body)
    }
}
