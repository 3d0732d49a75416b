import Foundation
import FoundationNetworking
import SpeedoCore
import SpeedoSimulator
import Synchronization

/// `simulate --via URL`: posts the readings as JSON arrays of at most `batchSize` to the ingestion
/// API (`speedo ingest --listen`), as the seed's simulator did. A 503 is backpressure: the same
/// batch is sent again after Retry-After. An API that cannot be reached is retried with backoff
/// (it may still be starting) before the run fails.
struct HTTPReadingSink: ReadingSink {
    let url: URL
    let batchSize: Int
    let isInterrupted: @Sendable () -> Bool
    private let session: URLSession

    init(url: URL, batchSize: Int, isInterrupted: @escaping @Sendable () -> Bool) {
        self.url = url
        self.batchSize = batchSize
        self.isInterrupted = isInterrupted
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        session = URLSession(configuration: configuration)
    }

    mutating func write(_ batch: [Reading]) throws -> SinkState {
        var start = batch.startIndex
        while start < batch.endIndex {
            let end = min(start + batchSize, batch.endIndex)
            try post(batch[start..<end])
            start = end
        }
        return .open
    }

    func finish() throws {
        session.finishTasksAndInvalidate()
    }

    private func post(_ readings: ArraySlice<Reading>) throws {
        var request = URLRequest(url: url)
        request.httpMethod = IngestionPost.method
        request.setValue(IngestionPost.contentType, forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(IngestionPost.body(readings))
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
                        "cannot reach the ingestion API at \(url) (\(error.localizedDescription)) after \(failedAttempts) "
                            + "attempts; is `speedo ingest --listen` running there?")
                }
                if failedAttempts == 1 {
                    Terminal.note(
                        "speedo simulate: cannot reach the ingestion API at \(url) (\(error.localizedDescription)); retrying")
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
                    Terminal.note("speedo simulate: the ingestion API is busy (HTTP 503); retrying after \(delay)")
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
        var body: Data

        /// The start of the body, escaped: it is the server's text, shown on our terminal.
        var excerpt: String {
            body.isEmpty ? "no body" : EscapedText.quoted(String(decoding: body.prefix(200), as: UTF8.self))
        }
    }

    /// One request, waited for on this (the simulation's own) thread.
    private func send(_ request: URLRequest) throws -> Answer {
        let outcome = AnswerSlot()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            let result: Result<Answer, any Error>
            if let response = response as? HTTPURLResponse {
                result = .success(
                    Answer(
                        status: response.statusCode, retryAfter: response.value(forHTTPHeaderField: "Retry-After"),
                        body: data ?? Data()))
            } else {
                result = .failure(error ?? URLError(.badServerResponse))
            }
            outcome.result.withLock { $0 = result }
            done.signal()
        }
        task.resume()
        done.wait()
        return try outcome.result.withLock { $0! }.get()
    }

    /// Carries the answer from URLSession's callback queue to the waiting thread.
    private final class AnswerSlot: Sendable {
        let result = Mutex<Result<Answer, any Error>?>(nil)
    }
}
