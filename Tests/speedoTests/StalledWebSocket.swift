import Foundation
import Glibc
import SpeedoStore

/// A WebSocket client that opens the connection and then stops reading, with a small receive buffer: the slowest
/// client there is. Its socket calls block, so they run on threads of their own.
final class StalledWebSocket: Sendable {
    private let descriptor: Int32
    /// The server's answer to the handshake, up to the blank line.
    let responseHead: String

    static func open(port: Int, path: String = "/ws/speed", headers: [String] = []) async throws -> StalledWebSocket {
        try await runOnDedicatedThread(name: "speedo-test") { try StalledWebSocket(port: port, path: path, headers: headers) }
    }

    /// The status code of the handshake's answer (101 when upgraded).
    var status: Int {
        Int(responseHead.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
    }

    private init(port: Int, path: String, headers: [String]) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        self.descriptor = descriptor
        var small: Int32 = 2048
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
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
func handshake(port: Int, path: String, headers: [String] = []) async throws -> (status: Int, body: String) {
    let client = try await StalledWebSocket.open(port: port, path: path, headers: headers)
    guard client.status != 101 else { return (101, "") }
    let (bytes, _) = try await client.drain(timeout: .milliseconds(500))
    return (client.status, String(decoding: bytes, as: UTF8.self))
}
