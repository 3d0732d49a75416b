package import SpeedoCore
package import SpeedoHTTP
import SpeedoKafka
package import SpeedoRuntime
import Synchronization

/// `speedo gateway` from start to stop: follows `speed-latest` into the hub, serves the page, `/ws/speed`,
/// `/api/history`, `/healthz` and `/metrics` until `stop` is requested, then stops the way every server of speedo stops
/// (`HTTPServerLifecycle`): no new connections, every WebSocket client is sent a close frame, and the follower ends.
package enum GatewayService {
    /// Runs the gateway on `listen` until `stop` is requested; notes (the address, warnings, an unreachable topic) go
    /// to `notes`. Throws `.noBrokersAvailable` when no broker answered within `connectTimeout` at startup (the
    /// gateway stops as on `stop`); once one answered, it keeps serving and retrying whatever the brokers do.
    package static func run(
        connection: ConnectionSettings, listen: HTTPListenAddress, server settings: GatewayServer.Settings,
        maxLag: Duration, connectTimeout: Duration, stop: StopRequest, notes: Notes
    ) async throws {
        let hub = GatewayHub(maxLag: maxLag, metrics: GatewayMetrics())
        let topic = GatewayHub.topic
        let brokers = connection.brokers.value
        let gaveUp = Mutex<KafkaError?>(nil)
        let follower = try await runOnDedicatedThread(name: "speedo-connect") {
            try hub.follow(KafkaConfiguration(connection), connectTimeout: connectTimeout, notes: notes) { error in
                gaveUp.withLock { $0 = error }
                stop.request()
            }
        }
        // Whether it served or could not listen, the follower ends.
        var failure: (any Error)?
        do {
            try await HTTPServerLifecycle.run(
                on: listen, role: "gateway",
                server: { listening in
                    HTTPServing.makeApplication(
                        host: listen.host, port: listen.port, limits: settings.limits,
                        responder: GatewayResponder(
                            admission: settings.admission, page: settings.page, hub: hub, brokers: brokers, topic: topic),
                        server: GatewayServer.builder(settings: settings, hub: hub), onListening: listening)
                },
                work: { address in
                    notes.note(
                        "listening on http://\(address) (WebSocket ws://\(address)\(GatewayAdmission.path)), following "
                            + "\(topic) at \(brokers)")
                    HTTPServing.warnIfExposed(
                        host: listen.host, command: "gateway", protected: settings.admission.authentication.isRequired,
                        notes: notes)
                    await stop.requested()
                })
        } catch {
            failure = error
        }
        try await runOnDedicatedThread(name: "speedo-close") { follower.stop() }
        if let failure { throw failure }
        if let error = gaveUp.withLock({ $0 }) { throw error }
    }
}
