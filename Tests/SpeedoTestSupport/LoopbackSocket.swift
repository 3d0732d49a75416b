import Foundation
import Glibc
import SpeedoCore

/// A blocking TCP connection to 127.0.0.1, for tests that must control exactly what goes over the wire.
package enum LoopbackSocket {
    /// The connected descriptor, which the caller closes. `receiveBuffer` shrinks the socket's receive buffer first.
    package static func connect(port: Int, receiveBuffer: Int32? = nil) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
        return descriptor
    }

    /// A socket listening on a free port of 127.0.0.1, held by the test so that a server cannot have the port; the
    /// caller closes the descriptor.
    package static func listen() throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, length) == 0 && Glibc.listen(descriptor, 1) == 0
                    && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRINUSE)
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}

extension LoopbackSocket {
    /// Sends all of `text`; false when the connection broke first.
    @discardableResult
    package static func send(_ descriptor: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Waits up to `timeout` for the server to end the connection, throwing away what it sends meanwhile; true when
    /// it did. The socket is looked at once more after the deadline, so that a thread of ours kept off the processor
    /// past it (a full run on two cores) does not count as a server that never closed.
    package static func waitForClose(_ descriptor: Int32, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65_536)
        // Past the deadline, what is already buffered is read (a server that keeps sending ends the wait too).
        var readsPastDeadline = 16
        while readsPastDeadline > 0 {
            let pastDeadline = ContinuousClock.now >= deadline
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, pastDeadline ? 0 : 20) == 1 else {
                if pastDeadline { return false } else { continue }
            }
            if recv(descriptor, &buffer, buffer.count, 0) <= 0 { return true }
            if pastDeadline { readsPastDeadline -= 1 }
        }
        return false
    }

    /// What the server sends within `timeout`, up to the end of the first answer's head at least, or until it closes
    /// the connection with `untilClosed`.
    package static func receive(_ descriptor: Int32, timeout: Duration, untilClosed: Bool = false) -> String {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while ContinuousClock.now < deadline, untilClosed || !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 20) == 1 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            received.append(contentsOf: buffer[..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// Connects with a small receive buffer and sends `request` up to `count` times without reading anything, until
    /// the server stops taking them (a send blocked for `stall`). Returns the open descriptor, which the caller closes,
    /// and how many requests went out.
    package static func flood(port: Int, request: String, count: Int, stall: Duration) throws -> (descriptor: Int32, sent: Int) {
        let descriptor = try connect(port: port, receiveBuffer: 4096)
        var timeout = timeval(tv_sec: Int(stall.inSeconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let perChunk = 1_000
        let chunk = Array(String(repeating: request, count: perChunk).utf8)
        var sentBytes = 0
        var chunkOffset = 0
        while sentBytes < count / perChunk * chunk.count {
            let written = chunk[chunkOffset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { break }
            sentBytes += written
            chunkOffset = (chunkOffset + written) % chunk.count
        }
        return (descriptor, sentBytes / request.utf8.count)
    }
}
