import Foundation
import Glibc

/// A listening TCP socket on 127.0.0.1.
package struct LoopbackListener: Sendable {
    package enum BindError: Error, Equatable, CustomStringConvertible {
        /// Another process listens on the port.
        case portTaken
        case failed(String)

        package var description: String {
            switch self {
            case .portTaken: "the port is taken by another process"
            case .failed(let reason): reason
            }
        }
    }

    package let descriptor: Int32
    package let port: UInt16

    /// Port 0 lets the kernel choose a free port. SO_REUSEADDR lets a restarted process take its port back while
    /// connections of its killed predecessor linger in TIME_WAIT; a port another socket listens on stays refused.
    package static func bind(port: UInt16) throws(BindError) -> LoopbackListener {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .failed("socket: \(String(cString: strerror(errno)))") }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(descriptor, 128) == 0 else {
            let code = errno
            close(descriptor)
            throw code == EADDRINUSE ? .portTaken : .failed("binding 127.0.0.1:\(port): \(String(cString: strerror(code)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return LoopbackListener(descriptor: descriptor, port: UInt16(bigEndian: address.sin_port))
    }
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// Relays every connection accepted by `listener` to 127.0.0.1:`targetPort`, byte for byte, on a thread of its
/// own, until the process ends. The dev broker uses it to keep one address across restarts, while the mock cluster
/// behind it picks a new port each time.
///
/// Bounded whatever the peers do: at most `maximumRelays` connections (more wait in the listen backlog), and at most
/// `bufferSize` bytes held per direction (a peer that does not read stops the other side from being read). One
/// poll(2) with no timeout waits for all of it, so an idle forwarder costs nothing.
package struct TCPForwarder: Sendable {
    package static let bufferSize = 64 * 1024
    package static let maximumRelays = 256

    package let listener: LoopbackListener
    package let targetPort: UInt16

    package init(listener: LoopbackListener, targetPort: UInt16) {
        (self.listener, self.targetPort) = (listener, targetPort)
    }

    package func start() {
        let thread = Thread { [self] in relayForever() }
        thread.name = "speedo.broker-forwarder"
        thread.start()
    }

    /// Bytes read from `source`, not yet written to `sink`.
    private struct Direction {
        let source: Int32
        let sink: Int32
        var pending: [UInt8] = []
        var sourceClosed = false

        var wantsToRead: Bool { !sourceClosed && pending.count < TCPForwarder.bufferSize }
        /// Its source closed and everything it sent was passed on.
        var isFinished: Bool { sourceClosed && pending.isEmpty }

        /// False when the sink failed (the peer is gone).
        mutating func transfer(readable: Bool, writable: Bool) -> Bool {
            if readable && wantsToRead {
                let room = TCPForwarder.bufferSize - pending.count
                let received = [UInt8](unsafeUninitializedCapacity: room) { buffer, count in
                    let result = recv(source, buffer.baseAddress, room, 0)
                    count = max(result, 0)
                    if result == 0 || (result < 0 && errno != EAGAIN && errno != EINTR) { sourceClosed = true }
                }
                pending += received
            }
            if writable && !pending.isEmpty {
                let sent = pending.withUnsafeBytes { send(sink, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 { return errno == EAGAIN || errno == EINTR }
                pending.removeFirst(sent)
            }
            return true
        }
    }

    /// A client connection and its connection to the target; either side closing ends both, once what it sent
    /// was passed on (Kafka clients and brokers never half-close).
    private struct Relay {
        var upstream: Direction
        var downstream: Direction

        init(client: Int32, target: Int32) {
            upstream = Direction(source: client, sink: target)
            downstream = Direction(source: target, sink: client)
        }

        func events(of descriptor: Int32) -> Int16 {
            var events: Int32 = 0
            for direction in [upstream, downstream] {
                if direction.source == descriptor && direction.wantsToRead { events |= POLLIN }
                if direction.sink == descriptor && !direction.pending.isEmpty { events |= POLLOUT }
            }
            return Int16(events)
        }

        /// False once the relay is over.
        mutating func transfer(clientEvents: Int16, targetEvents: Int16) -> Bool {
            let readable = Int16(POLLIN | POLLHUP | POLLERR), writable = Int16(POLLOUT | POLLHUP | POLLERR)
            let upstreamOK = upstream.transfer(
                readable: clientEvents & readable != 0, writable: targetEvents & writable != 0)
            let downstreamOK = downstream.transfer(
                readable: targetEvents & readable != 0, writable: clientEvents & writable != 0)
            return upstreamOK && downstreamOK && !upstream.isFinished && !downstream.isFinished
        }

        func close() {
            Glibc.close(upstream.source)
            Glibc.close(upstream.sink)
        }
    }

    private func relayForever() {
        var relays: [Relay] = []
        while true {
            let acceptsMore = relays.count < Self.maximumRelays
            var descriptors = [pollfd(fd: listener.descriptor, events: acceptsMore ? Int16(POLLIN) : 0, revents: 0)]
            for relay in relays {
                descriptors.append(pollfd(fd: relay.upstream.source, events: relay.events(of: relay.upstream.source), revents: 0))
                descriptors.append(pollfd(fd: relay.upstream.sink, events: relay.events(of: relay.upstream.sink), revents: 0))
            }
            guard poll(&descriptors, nfds_t(descriptors.count), -1) >= 0 else {
                if errno == EINTR { continue }
                fatalError("the dev broker's forwarder cannot poll: \(String(cString: strerror(errno)))")
            }
            var remaining: [Relay] = []
            for (index, var relay) in relays.enumerated() {
                let clientEvents = descriptors[1 + 2 * index].revents
                let targetEvents = descriptors[2 + 2 * index].revents
                if relay.transfer(clientEvents: clientEvents, targetEvents: targetEvents) {
                    remaining.append(relay)
                } else {
                    relay.close()
                }
            }
            relays = remaining
            if descriptors[0].revents & Int16(POLLIN) != 0, let relay = acceptRelay() {
                relays.append(relay)
            }
        }
    }

    /// Accepts one client and connects it to the target (on loopback, a connect succeeds or is refused at once);
    /// nil when there was none or the target refused, in which case the client is closed and will retry.
    private func acceptRelay() -> Relay? {
        let client = accept(listener.descriptor, nil, nil)
        guard client >= 0 else { return nil }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = loopbackAddress(port: targetPort)
        let connected = target >= 0 && withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        } == 0
        guard connected, Self.setNonBlocking(target), Self.setNonBlocking(client) else {
            close(client)
            if target >= 0 { close(target) }
            return nil
        }
        var noDelay: Int32 = 1
        for descriptor in [client, target] {
            setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        }
        return Relay(client: client, target: target)
    }

    private static func setNonBlocking(_ descriptor: Int32) -> Bool {
        fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) == 0
    }
}
