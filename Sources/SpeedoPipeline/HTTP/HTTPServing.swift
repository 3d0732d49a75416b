import Foundation
package import Hummingbird
package import HummingbirdCore
import Logging
import Metrics
import NIOCore
package import Prometheus
import SpeedoCore
package import SpeedoRuntime
import Synchronization

/// What the HTTP servers of speedo (`ingest --listen`, `gateway`) share: how they start, authenticate, answer
/// errors and count requests.
package enum HTTPServing {
    /// Builds a server on `host:port` (port 0: a free one, told to `onListening`); tests run the same application
    /// in-process. `server` chooses the connection handling (plain HTTP/1.1 by default, where the idle timeout also
    /// bounds a slow request head, or with WebSocket upgrades); `limits` bounds the connections either way.
    package static func makeApplication<Responder: HTTPResponder>(
        host: String, port: Int, limits: HTTPConnectionLimits = .standard, responder: Responder,
        server: HTTPServerBuilder? = nil, onListening: @escaping @Sendable (String) -> Void = { _ in }
    ) -> some ApplicationProtocol where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        var logger = Logger(label: "speedo.http")
        // Hummingbird's own notices (startup, shutdown) would duplicate ours; access lines are opt-in.
        logger.logLevel = .warning
        return Application(
            responder: responder,
            server: server ?? .http1(configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout))),
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: port),
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maximumConnections)),
            onServerRunning: { channel in
                let bound = channel.localAddress
                let shownHost = host.contains(":") ? "[\(host)]" : host
                onListening("\(shownHost):\(bound?.port ?? port)")
            },
            logger: logger)
    }

    /// Why a server could not listen on `address` (as the operator wrote it), for the operator: NIO's own text,
    /// `bind(descriptor:…) (errno: 98)`, names neither the address nor what to do.
    package static func listenFailure(_ error: any Error, on address: String, option: String) -> CommandFailure {
        let problem = switch (error as? IOError)?.errnoCode ?? 0 {
        case EADDRINUSE:
            "\(address) is already in use (another process listens there); choose another port with \(option), or stop that process"
        case EACCES:
            "listening on \(address) is not permitted (ports below 1024 need privileges); choose a port from 1024 up with \(option)"
        case EADDRNOTAVAIL:
            "\(address) is not an address of this machine; choose one of its addresses with \(option), e.g. 127.0.0.1 or 0.0.0.0"
        default:
            "cannot listen on \(address): \(error)"
        }
        return CommandFailure(.unavailable, problem)
    }

    /// Listening on every interface without a token lets anyone who can reach the machine in: say so once, at start.
    package static func warnIfExposed(host: String, command: String, protected: Bool, advice: String = "pass --token-file") {
        guard !protected, HTTPHostPolicy.isWildcard(host) else { return }
        Terminal.note(
            "speedo \(command): warning: listening on all interfaces (\(host)) without a token: anyone who can reach this "
                + "machine can use it; \(advice), or listen on 127.0.0.1")
    }

    /// Reads `--token-file`: the file's content, trimmed, which must be printable ASCII without spaces.
    package static func bearerToken(fromFile path: String) throws -> String {
        let token = try tokenFileText(path).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else {
            throw CommandFailure(.usage, "the token file \(path) is empty; put the bearer token clients must send in it")
        }
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CommandFailure(.usage, "the token in \(path) has spaces or non-ASCII characters; use a token of printable ASCII")
        }
        return token
    }

    /// A token is a line or two: more than this is not a token file (e.g. /dev/zero or a log), and is not read on.
    private static let largestTokenFile = 64 << 10

    /// The file's text, or a usage error that says what is wrong with it (missing, a directory, unreadable, too big).
    private static func tokenFileText(_ path: String) throws -> String {
        func refuse(_ problem: String) -> CommandFailure {
            CommandFailure(.usage, "--token-file \(path): \(problem); give a file that holds the bearer token clients must send")
        }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason = errno
            switch reason {
            case ENOENT: throw refuse("there is no such file")
            case EACCES: throw refuse("this user (uid \(getuid())) may not read it")
            default: throw refuse("it cannot be opened (\(String(cString: strerror(reason))))")
            }
        }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR: throw refuse("it is a directory")
            case S_IFREG: break
            default: throw refuse("it is not a regular file")
            }
        }
        var bytes = [UInt8](repeating: 0, count: largestTokenFile + 1)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw refuse("it cannot be read (\(String(cString: strerror(errno))))")
            }
            filled += count
        }
        guard filled <= largestTokenFile else { throw refuse("it is larger than \(largestTokenFile / 1024) KiB") }
        return String(decoding: bytes[..<filled], as: UTF8.self)
    }
}

/// A request refused before any work: the status, a stable code and a message saying what to do.
package struct HTTPRefusal: Error, Sendable, Equatable {
    package var status: HTTPResponse.Status
    package var code: String
    package var message: String
    package var headers: HTTPFields = [:]

    package var answer: HTTPAnswer { HTTPReply.error(status, code, message, headers: headers) }

    package static func methodNotAllowed(allow: String) -> HTTPRefusal {
        HTTPRefusal(
            status: .methodNotAllowed, code: "method-not-allowed", message: "this resource accepts \(allow) only",
            headers: [.allow: allow])
    }
}

/// `--token-file`: requests must carry the token as `Authorization: Bearer <token>` (or, where a client cannot set
/// headers, as a `token` query parameter the caller passes on).
package struct BearerTokenCheck: Sendable {
    /// nil: no authentication.
    package let token: String?

    package init(
        token: String?
    ) {
        self.token = token
    }

    /// nil when the request may proceed.
    package func refusal(authorization: String?, queryToken: Substring? = nil) -> HTTPRefusal? {
        guard let token else { return nil }
        let given: Substring
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return invalid }
            given = parts[1]
        } else if let queryToken {
            given = queryToken
        } else {
            return HTTPRefusal(
                status: .unauthorized, code: "unauthorized",
                message: "this server needs a bearer token: send Authorization: Bearer <token>",
                headers: [.wwwAuthenticate: #"Bearer realm="speedo""#])
        }
        return Self.constantTimeEquals(Array(given.utf8), Array(token.utf8)) ? nil : invalid
    }

    private var invalid: HTTPRefusal {
        HTTPRefusal(
            status: .unauthorized, code: "unauthorized", message: "the bearer token is not valid for this server",
            headers: [.wwwAuthenticate: #"Bearer realm="speedo", error="invalid_token""#])
    }

    /// Takes as long for a token that differs in its first byte as for one that differs in its last.
    private static func constantTimeEquals(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        for index in expected.indices {
            difference |= expected[index] ^ (index < given.count ? given[index] : 0)
        }
        return difference == 0
    }
}

/// A complete answer: status, headers (with the content type) and body, as any of speedo's servers sends it.
package struct HTTPAnswer: Sendable {
    package var status: HTTPResponse.Status
    package var headers: HTTPFields
    package var body: [UInt8]

    /// The same answer for a Hummingbird responder.
    package var response: Response {
        Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

package enum HTTPReply {
    package static func error(
        _ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]
    ) -> HTTPAnswer {
        body(status, ErrorReply(error: code, message: message).json, headers: headers)
    }

    package static func body(
        _ status: HTTPResponse.Status, _ body: [UInt8], contentType: String = "application/json",
        headers: HTTPFields = [:]
    ) -> HTTPAnswer {
        var fields: HTTPFields = [.contentType: contentType]
        fields.append(contentsOf: headers)
        return HTTPAnswer(status: status, headers: fields, body: body)
    }

    package static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"
}

/// A server's metrics, kept in a registry of its own (not the process-wide `MetricsSystem`, which can be
/// bootstrapped only once per process) and served by `GET /metrics` in Prometheus' text format.
package final class HTTPMetricsRegistry: Sendable {
    private let registry = PrometheusCollectorRegistry()
    /// Makes the server's own metrics in this registry.
    package let factory: PrometheusMetricsFactory
    /// Counters by route and status, made on first use: the registry's own lookup takes a lock and hashes labels.
    private let requestCounters = Mutex<[RequestKey: Metrics.Counter]>([:])

    private struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    package init(durationBuckets: [Duration]? = nil) {
        var factory = PrometheusMetricsFactory(registry: registry)
        if let durationBuckets { factory.defaultDurationHistogramBuckets = durationBuckets }
        self.factory = factory
    }

    /// `route` is one of the API's paths, or `other`, so that scanners cannot grow the label set.
    package func countRequest(route: String, status: Int) {
        let key = RequestKey(route: route, status: status)
        let counter = requestCounters.withLock { counters in
            if let known = counters[key] { return known }
            let made = Metrics.Counter(
                label: "speedo_http_requests_total", dimensions: [("route", route), ("status", String(status))],
                factory: factory)
            counters[key] = made
            return made
        }
        counter.increment()
    }

    /// The Prometheus text exposition of every metric made with `factory`.
    package func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return buffer
    }
}
