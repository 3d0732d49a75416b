import Foundation
import Glibc
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport

/// A WebSocket client that opens the connection and then stops reading, with a small receive buffer: the slowest
/// client there is. Its socket calls block, so they run on threads of their own.
final class StalledWebSocket: Sendable {
    private let descriptor: Int32
    /// The server's answer to the handshake, up to the blank line.
    let responseHead: String

    /// `host`: the Host header, 127.0.0.1:PORT when nil.
    static func open(
        port: Int, path: String = "/ws/speed", host: String? = nil, headers: [String] = []
    ) async throws -> StalledWebSocket {
        try await runOnDedicatedThread(name: "speedo-test") {
            try StalledWebSocket(port: port, path: path, host: host ?? "127.0.0.1:\(port)", headers: headers)
        }
    }

    /// The status code of the handshake's answer (101 when upgraded).
    var status: Int {
        Int(responseHead.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
    }

    private init(port: Int, path: String, host: String, headers: [String]) throws {
        let descriptor = try LoopbackSocket.connect(port: port, receiveBuffer: 2048)
        self.descriptor = descriptor
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
        var head: [UInt8] = []
        var byte: UInt8 = 0
        // Byte by byte, so that nothing after the head is taken out of the socket.
        while !head.ends(with: Array("\r\n\r\n".utf8)), recv(descriptor, &byte, 1, 0) == 1 { head.append(byte) }
        responseHead = String(decoding: head, as: UTF8.self)
    }

    deinit {
        close(descriptor)
    }

    /// Reads everything left until the server ends the connection (true) or `timeout` passes (false).
    func drain(timeout: Duration) async throws -> (bytes: [UInt8], endedByServer: Bool) {
        try await runOnDedicatedThread(name: "speedo-test") {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                var poller = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) == 1 else { continue }
                let count = recv(self.descriptor, &buffer, buffer.count, 0)
                if count <= 0 { return (bytes, true) }
                bytes.append(contentsOf: buffer[..<count])
            }
            return (bytes, false)
        }
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}

/// Attempts a WebSocket handshake on a connection of its own; returns the answer's status and body (a refusal's
/// JSON, or nothing after a 101).
func handshake(port: Int, path: String, host: String? = nil, headers: [String] = []) async throws -> (status: Int, body: String) {
    let client = try await StalledWebSocket.open(port: port, path: path, host: host, headers: headers)
    guard client.status != 101 else { return (101, "") }
    let (bytes, _) = try await client.drain(timeout: .milliseconds(500))
    return (client.status, String(decoding: bytes, as: UTF8.self))
}
