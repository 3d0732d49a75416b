import Foundation
import Glibc
import Logging
package import ServiceLifecycle
import SpeedoRuntime
import Synchronization

/// Where a server listens (port 0: a free one, chosen when it binds), and how the operator said so, for the message
/// when it cannot: `given` as written (`127.0.0.1:0`), with `option` (`--listen`).
package struct HTTPListenAddress: Sendable {
    package var host: String, port: Int
    package var given: String, option: String

    package init(host: String, port: Int, given: String, option: String) {
        (self.host, self.port, self.given, self.option) = (host, port, given, option)
    }
}

/// The one way speedo's servers run and stop, whichever stack carries them (`RawHTTPServer`, or Hummingbird's
/// application from `HTTPServing.makeApplication`).
///
/// The server is a swift-service-lifecycle `Service` that listens in `run()` and tells the address it bound. Once it
/// listens, `work` runs beside it: the engine's own job (the history writer behind the metrics endpoint), or waiting
/// for the `StopRequest` (`requested()`) for a server that is the job. When `work` returns or throws, the group is
/// shut down gracefully: the server stops accepting, the requests in flight get their answers (the gateway's
/// WebSocket clients a close frame), idle connections are closed, and `run` returns once every connection is closed,
/// with what `work` returned or threw.
///
/// No signal handling here: the command's `InterruptWatcher` turns SIGINT/SIGTERM into the stop request, the same
/// for every command (its second signal exits at once, and its deadline cuts off a stop that hangs).
package enum HTTPServerLifecycle {
    /// `role` names the server in a failure ("metrics server"). A server that cannot listen fails with
    /// `HTTPServing.listenFailure` and `work` never starts; one that fails or ends while serving, with
    /// `the <role> on <address> stopped` (exit 69).
    package static func run<Outcome: Sendable>(
        on address: HTTPListenAddress, role: String,
        server makeServer: (_ listening: @escaping @Sendable (String) -> Void) -> any Service,
        work: @escaping @Sendable (_ boundAddress: String) async throws -> Outcome
    ) async throws -> Outcome {
        let (listening, announce) = AsyncStream<String>.makeStream()
        let listened = Atomic<Bool>(false)
        let server = makeServer { bound in
            listened.store(true, ordering: .releasing)
            announce.yield(bound)
            announce.finish()
        }
        let outcome = Mutex<Result<Outcome, any Error>?>(nil)
        let worker = ClosureService {
            // No address: the server failed to listen, and the group was cancelled.
            guard let bound = await listening.first(where: { _ in true }) else { return }
            let result = await Result { () async throws -> Outcome in try await work(bound) }
            outcome.withLock { $0 = result }
        }
        // Shut down gracefully in reverse order: the work has ended, then the server drains.
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: server, successTerminationBehavior: .cancelGroup, failureTerminationBehavior: .cancelGroup),
            .init(
                service: worker, successTerminationBehavior: .gracefullyShutdownGroup,
                failureTerminationBehavior: .gracefullyShutdownGroup),
        ]
        var logger = Logger(label: "speedo.http.lifecycle")
        logger.logLevel = .warning
        do {
            try await ServiceGroup(configuration: .init(services: services, logger: logger)).run()
        } catch {
            guard listened.load(ordering: .acquiring) else {
                throw HTTPServing.listenFailure(error, on: address.given, option: address.option)
            }
            let detail = error is ServiceGroupError ? "" : ": \(error)"
            throw CommandFailure(.unavailable, "the \(role) on \(address.given) stopped\(detail)")
        }
        guard let result = outcome.withLock({ $0 }) else { throw CancellationError() }
        return try result.get()
    }
}

extension Result where Failure == any Error {
    fileprivate init(_ body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
