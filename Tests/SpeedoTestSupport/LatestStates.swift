import Foundation
package import Hummingbird
import HummingbirdWSClient
import Logging
import NIOWebSocket
package import SpeedoCore
import Synchronization
import Testing

/// A state as `consume latest` would publish it, stamped `secondsAgo` before now.
package func latestState(_ sensorID: String, speed: Double, secondsAgo: Double = 1) -> LatestState {
    let now = Date().timeIntervalSince1970 - secondsAgo
    return LatestState(
        reading: Reading(sensorID: sensorID, speed: speed, timestamp: Timestamp(microseconds: Int64(now * 1_000_000))),
        windowSeconds: 60,
        statistics: RollingStats.Summary(count: 3, minimum: speed / 2, average: speed * 0.75, maximum: speed))
}

package func text(of state: LatestState) -> String {
    String(decoding: state.encoded(), as: UTF8.self)
}

/// A WebSocket client (swift-websocket's) that keeps every text message it receives and how the server closed.
package final class WebSocketProbe: Sendable {
    private let received = Mutex<[String]>([])
    private let closeFrame = Mutex<(code: Int, reason: String?)?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let ended = Mutex(false)

    package init(url: String, headers: HTTPFields = [:]) {
        var configuration = WebSocketClientConfiguration()
        configuration.additionalHeaders = headers
        let started = Task { [self] in
            var logger = Logger(label: "speedo.test.ws")
            logger.logLevel = .critical
            // A refused or broken connection ends the probe without a close frame (hasEnded, close == nil).
            let frame = try? await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) {
                inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { self.received.withLock { $0.append(text) } }
                }
            }
            closeFrame.withLock { $0 = frame.map { (Int(UInt16(webSocketErrorCode: $0.closeCode)), $0.reason) } }
            ended.withLock { $0 = true }
        }
        task.withLock { $0 = started }
    }

    package var messages: [String] { received.withLock { $0 } }
    package var hasEnded: Bool { ended.withLock { $0 } }
    /// The server's close code and reason, once the connection ended with a close frame.
    package var close: (code: Int, reason: String?)? { closeFrame.withLock { $0 } }

    /// Ends the connection from the client side.
    package func disconnect() {
        task.withLock { $0 }?.cancel()
    }

    package func waitForMessages(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [String] {
        try await waitUntil("\(count) WebSocket messages arrived", timeout: timeout) { self.messages.count >= count }
        return messages
    }
}
