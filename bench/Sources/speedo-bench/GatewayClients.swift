import CEpoll

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `speedo-bench gateway-clients`: many WebSocket clients of `speedo gateway`, each measuring, for every message,
/// the time from the state's `ts` (the reading's time, which is also the speed-latest record's Kafka timestamp) to
/// its receipt, by the wall clock of this machine.
///
/// The clients share one thread and one epoll set and parse frames in place: on a machine that also runs the
/// gateway, a client library with a task per connection and a `String` per message would spend more CPU than the
/// gateway itself, and the figure would measure the clients.
struct GatewayClientsBenchmark {
    var host = "127.0.0.1"
    var port: UInt16 = 9000
    var target = "/ws/speed"
    var clients = 1_000
    /// Messages in the first `warmUp` after every client connected are not measured (the snapshot, old states).
    var warmUp = 3.0
    var duration = 20.0

    static let usage = "usage: speedo-bench gateway-clients [--url ws://HOST:PORT/ws/speed] [--clients N] [--seconds S]"

    init(_ arguments: ArraySlice<String>) throws(BenchmarkUsageError) {
        let options = try BenchmarkOptions(arguments, known: ["url", "clients", "seconds"], usage: Self.usage)
        if let url = options.text("url") { try parse(url: url) }
        clients = try options.number("clients", default: clients)
        duration = Double(try options.number("seconds", default: Int(duration)))
    }

    private mutating func parse(url: String) throws(BenchmarkUsageError) {
        guard url.hasPrefix("ws://") else { throw BenchmarkUsageError(description: "only ws:// URLs: \(url)") }
        let rest = url.dropFirst("ws://".count)
        let authority = rest.prefix { $0 != "/" }
        target = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        guard let colon = authority.lastIndex(of: ":"), let number = UInt16(authority[authority.index(after: colon)...])
        else { throw BenchmarkUsageError(description: "the URL needs host:port: \(url)") }
        host = String(authority[..<colon])
        port = number
    }

    func run() throws(BenchmarkUsageError) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw BenchmarkUsageError(description: "not an IPv4 address: \(host)")
        }
        let request = Array(
            ("GET \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: c3BlZWRvLWJlbmNoLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        var swarm = ClientSwarm(count: clients, address: address, request: request)
        let connectDeadline = monotonicSeconds() + 60
        while swarm.upgraded < clients, monotonicSeconds() < connectDeadline { swarm.serve(for: 0.05, measuring: false) }
        let connections = swarm.upgraded
        swarm.serve(for: warmUp, measuring: false)
        swarm.serve(for: duration, measuring: true)
        swarm.report(connections: connections, of: clients, seconds: duration)
    }
}

/// The clients' sockets and what each has received but not parsed yet.
private struct ClientSwarm {
    private enum Phase { case connecting, upgrading, open, closed }

    private struct Client {
        var socket: Int32
        var phase = Phase.connecting
        var pending: [UInt8] = []
    }

    private var clients: [Client] = []
    private let epoll: Int32
    private let request: [UInt8]
    private var scratch = [UInt8](repeating: 0, count: 1 << 16)
    private var latencies = LatencyHistogram()
    private(set) var upgraded = 0
    private var failures = 0

    init(count: Int, address: sockaddr_in, request: [UInt8]) {
        self.request = request
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1: \(errno)")
        for index in 0..<count {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            precondition(socket >= 0, "socket: \(errno) (raise the open-file limit: ulimit -n)")
            var noDelay: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            var target = address
            let result = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            precondition(result == 0 || errno == EINPROGRESS, "connect: \(errno)")
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue
            event.data.u64 = UInt64(index)
            epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event)
            clients.append(Client(socket: socket))
        }
    }

    /// Handles every socket event for `seconds`; received messages count only when `measuring`.
    mutating func serve(for seconds: Double, measuring: Bool) {
        let end = monotonicSeconds() + seconds
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let left = end - monotonicSeconds()
            if left <= 0 { return }
            let ready = epoll_wait(epoll, &events, Int32(events.count), Int32(max(1, left * 1000)))
            guard ready > 0 else { continue }
            for event in events[0..<Int(ready)] {
                handle(Int(event.data.u64), events: event.events, measuring: measuring)
            }
        }
    }

    private mutating func handle(_ index: Int, events: UInt32, measuring: Bool) {
        let socket = clients[index].socket
        if clients[index].phase == .connecting {
            guard events & EPOLLOUT.rawValue != 0 else { return }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0, send(socket, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else {
                return close(index)
            }
            var event = epoll_event()
            event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            event.data.u64 = UInt64(index)
            epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
            clients[index].phase = .upgrading
            return
        }
        guard events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 else { return }
        while clients[index].phase != .closed {
            let received = recv(socket, &scratch, scratch.count, 0)
            if received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            guard received > 0 else { return close(index) }
            let now = wallClockMicroseconds()
            clients[index].pending += scratch[0..<received]
            consume(index, now: now, measuring: measuring)
        }
    }

    /// Parses what `index` has received: the upgrade answer, then frames (unmasked, as a server sends them).
    private mutating func consume(_ index: Int, now: Int64, measuring: Bool) {
        let bytes = clients[index].pending
        clients[index].pending = []
        var start = 0
        if clients[index].phase == .upgrading {
            guard let end = headerEnd(bytes) else { return clients[index].pending = bytes }
            guard bytes.starts(with: Array("HTTP/1.1 101".utf8)) else { return close(index) }
            clients[index].phase = .open
            upgraded += 1
            start = end
        }
        while bytes.count - start >= 2 {
            let opcode = bytes[start] & 0x0f
            var length = Int(bytes[start + 1] & 0x7f)
            var header = 2
            if length == 126 {
                guard bytes.count - start >= 4 else { break }
                length = Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
                header = 4
            } else if length == 127 {
                guard bytes.count - start >= 10 else { break }
                length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[start + 2 + $1]) }
                header = 10
            }
            guard bytes.count - start >= header + length else { break }
            let payload = (start + header)..<(start + header + length)
            switch opcode {
            case 0x1:
                if measuring, let sent = timestampMicroseconds(bytes[payload]) { latencies.add(now - sent) }
            case 0x9:
                reply(index, opcode: 0xA, payload: Array(bytes[payload]))
            case 0x8:
                reply(index, opcode: 0x8, payload: Array(bytes[payload].prefix(2)))
                return close(index)
            default:
                break
            }
            start = payload.upperBound
        }
        clients[index].pending = Array(bytes[start...])
    }

    /// A client's frame: masked, as the protocol requires of clients (with a zero mask, which leaves the bytes as
    /// they are).
    private func reply(_ index: Int, opcode: UInt8, payload: [UInt8]) {
        let frame = [0x80 | opcode, 0x80 | UInt8(payload.count), 0, 0, 0, 0] + payload
        _ = send(clients[index].socket, frame, frame.count, Int32(MSG_NOSIGNAL))
    }

    private mutating func close(_ index: Int) {
        guard clients[index].phase != .closed else { return }
        if clients[index].phase != .open { failures += 1 } else { upgraded -= 1 }
        clients[index].phase = .closed
        Glibc.close(clients[index].socket)
    }

    private func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 3..<bytes.count
        where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
            return index + 1
        }
        return nil
    }

    func report(connections: Int, of clients: Int, seconds: Double) {
        let count = latencies.count
        let p50 = latencies.percentile(0.5), p99 = latencies.percentile(0.99)
        print("""
            gateway clients: \(connections) of \(clients) connected (\(failures) failed, \(connections - upgraded) closed \
            while measuring); \(count) messages measured in \(Int(seconds)) s (\(Int(Double(count) / seconds)) messages/s)
            latency ts -> receipt (ms): p50 \(p50) p90 \(latencies.percentile(0.9)) p99 \(p99) \
            p99.9 \(latencies.percentile(0.999)) max \(latencies.percentile(1))
            RESULT connections=\(connections) messages=\(count) p50_ms=\(p50) p99_ms=\(p99)
            """)
    }
}

/// The `ts` member of a speed-latest value, in microseconds since the epoch: digits, then an optional fraction.
private func timestampMicroseconds(_ json: ArraySlice<UInt8>) -> Int64? {
    let key = Array(#""ts":"#.utf8)
    guard let found = json.indices.first(where: { json[$0...].starts(with: key) }) else { return nil }
    var index = found + key.count
    var seconds: Int64 = 0
    while index < json.endIndex, (48...57).contains(json[index]) {
        seconds = seconds * 10 + Int64(json[index] - 48)
        index += 1
    }
    var micros: Int64 = 0
    var scale: Int64 = 100_000
    if index < json.endIndex, json[index] == UInt8(ascii: ".") {
        index += 1
        while index < json.endIndex, (48...57).contains(json[index]) {
            micros += Int64(json[index] - 48) * scale
            scale /= 10
            index += 1
        }
    }
    return seconds * 1_000_000 + micros
}

/// Latencies in 0.1 ms steps up to 100 s (beyond counts as 100 s), so that millions of messages cost no memory.
struct LatencyHistogram {
    private var buckets = [Int](repeating: 0, count: 1_000_001)
    private(set) var count = 0

    mutating func add(_ microseconds: Int64) {
        buckets[Int(min(max(microseconds, 0) / 100, 1_000_000))] += 1
        count += 1
    }

    /// The upper bound of the bucket that holds this fraction of the messages, in ms; "-" without messages.
    func percentile(_ fraction: Double) -> String {
        guard count > 0 else { return "-" }
        let rank = max(1, Int((Double(count) * fraction).rounded(.up)))
        var seen = 0
        for (bucket, n) in buckets.enumerated() {
            seen += n
            if seen >= rank { return String(Double(bucket + 1) / 10) }
        }
        return "-"
    }
}

func wallClockMicroseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
