import Foundation
import SpeedoCore

/// Checks that something accepts TCP connections, without speaking any protocol: enough to know
/// that a freshly started broker is listening.
package enum TCPProbe {
    /// True when the first `host:port` of a bootstrap list accepts a connection within `timeout`.
    package static func accepts(_ bootstrapServers: String, timeout: Duration = .milliseconds(500)) -> Bool {
        guard let first = bootstrapServers.split(separator: ",").first,
            let colon = first.lastIndex(of: ":"),
            let port = UInt16(first[first.index(after: colon)...])
        else { return false }
        let host = String(first[..<colon])

        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let results else { return false }
        defer { freeaddrinfo(results) }

        var candidate: UnsafeMutablePointer<addrinfo>? = results
        while let info = candidate {
            if connects(info.pointee, timeout: timeout) { return true }
            candidate = info.pointee.ai_next
        }
        return false
    }

    private static func connects(_ info: addrinfo, timeout: Duration) -> Bool {
        let socketFD = socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.ai_protocol)
        guard socketFD >= 0 else { return false }
        defer { close(socketFD) }
        if connect(socketFD, info.ai_addr, info.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var descriptor = pollfd(fd: socketFD, events: Int16(POLLOUT), revents: 0)
        guard poll(&descriptor, 1, timeout.clampedMilliseconds) == 1 else { return false }
        var socketError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(socketFD, SOL_SOCKET, SO_ERROR, &socketError, &length)
        return socketError == 0
    }
}
