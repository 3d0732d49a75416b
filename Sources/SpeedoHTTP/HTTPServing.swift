import Foundation
package import Hummingbird
package import HummingbirdCore
import Logging
import NIOCore
package import SpeedoRuntime

/// How speedo's servers start: the Hummingbird application of the gateway and the metrics endpoint, why a server
/// could not listen, and the warning for one open to every interface.
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
    package static func warnIfExposed(
        host: String, command: String, protected: Bool, advice: String = "pass --token-file", notes: Notes
    ) {
        guard !protected, HTTPHostPolicy.isWildcard(host) else { return }
        notes.note(
            "speedo \(command): warning: listening on all interfaces (\(host)) without a token: anyone who can reach this "
                + "machine can use it; \(advice), or listen on 127.0.0.1")
    }
}

/// A Hummingbird server of speedo: `HTTPOperations` answer what every server answers alike (Host and Origin,
/// `/healthz`, `/metrics`, unknown paths), `answer(resource:)` the server's own resources; every answer is counted.
package protocol AnsweringResponder: HTTPResponder where Context == BasicRequestContext {
    var operations: HTTPOperations { get }
    /// A request for one of the server's own resources, its Host and Origin already admitted.
    func answer(resource request: Request) -> HTTPAnswer
}

extension AnsweringResponder {
    package func respond(to request: Request, context: Context) async throws -> Response {
        let path = Substring(request.uri.path)
        let answer = operations.answer(
            method: request.method, path: path, host: request.head.authority, origin: request.headers[.origin],
            authorization: request.headers[.authorization]) ?? answer(resource: request)
        operations.count(path: path, status: answer.status)
        return answer.response
    }
}
