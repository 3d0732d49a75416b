import Foundation
import Hummingbird
import HummingbirdTesting
import SpeedoCore
import SpeedoHTTP
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// `speedo gateway` in-process (the real hub, follower and server on a loopback port) in front of a real mock Kafka
/// cluster over TCP; states are produced into `speed-latest` as `consume latest` would.
final class GatewayFixture: Sendable {
    let hub: GatewayHub
    let admission: GatewayAdmission
    let follower: TopicFollower
    /// Declared last, so that it is released after the clients that talk to it.
    let cluster: MockCluster

    let limits: HTTPConnectionLimits

    static func make(
        token: String? = nil, allowedOrigins: [String] = [], allowedHosts: [String] = [], maxLag: Duration = .seconds(2),
        limits: HTTPConnectionLimits = .standard
    ) async throws -> GatewayFixture {
        let fixture = try await runOnDedicatedThread(name: "speedo-test") {
            try GatewayFixture(
                token: token, hosts: HTTPHostPolicy(
                    listenHost: "127.0.0.1", allowedHosts: allowedHosts, allowedOrigins: allowedOrigins),
                maxLag: maxLag, limits: limits)
        }
        try await waitUntil("the follower caught up with \(GatewayHub.topic)") { fixture.hub.feed == .caughtUp }
        return fixture
    }

    private init(token: String?, hosts: HTTPHostPolicy, maxLag: Duration, limits: HTTPConnectionLimits) throws(KafkaError) {
        self.limits = limits
        let cluster = try MockCluster()
        self.cluster = cluster
        try cluster.createTopic(name: GatewayHub.topic, partitions: 3)
        hub = GatewayHub(maxLag: maxLag, metrics: GatewayMetrics())
        admission = GatewayAdmission(authentication: BearerTokenCheck(token: token), hosts: hosts)
        follower = try hub.follow(
            KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), connectTimeout: .seconds(60),
            notes: .standardError, gaveUp: { Issue.record("gave up on the brokers: \($0)") })
    }

    deinit {
        follower.stop()
    }

    /// Runs `body` with the gateway listening on a loopback port; shuts it down gracefully afterwards.
    func withServer(_ body: @escaping @Sendable (_ port: Int, _ client: any TestClientProtocol) async throws -> Void) async throws {
        try await makeApplication().test(.live) { client in
            try await body(try #require(client.port), client)
        }
    }

    /// Runs `body` with the gateway listening as `speedo gateway` runs it (Hummingbird's test framework leaves out
    /// the connection limit); cancels it afterwards.
    func withListeningServer(_ body: @escaping @Sendable (_ port: Int) async throws -> Void) async throws {
        let (ports, announce) = AsyncStream<Int>.makeStream()
        let application = makeApplication { address in
            announce.yield(Int(address.split(separator: ":").last ?? "") ?? 0)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await application.run() }
            group.addTask {
                for await port in ports {
                    try await body(port)
                    return
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func makeApplication(onListening: @escaping @Sendable (String) -> Void = { _ in }) -> some ApplicationProtocol {
        HTTPServing.makeApplication(
            host: "127.0.0.1", port: 0, limits: limits,
            responder: GatewayResponder(
                admission: admission, hub: hub, brokers: cluster.bootstrapServers, topic: GatewayHub.topic),
            server: GatewayServer.builder(
                settings: .init(admission: admission, pingInterval: .seconds(30), closeTimeout: .seconds(2), limits: limits),
                hub: hub),
            onListening: onListening)
    }

    /// Produces the states into `speed-latest` (key = sensor id, Kafka timestamp = the reading's time), acknowledged
    /// before returning; with `duration`, spread over that time.
    func produce(_ states: [LatestState], over duration: Duration = .zero) async throws {
        let records = states.map { state in
            TestRecord(
                key: state.reading.sensorID, value: String(decoding: state.encoded(), as: UTF8.self),
                timestampMs: state.reading.timestamp.microseconds / 1000)
        }
        try await runOnDedicatedThread(name: "speedo-test") {
            try produceRecords(records, to: GatewayHub.topic, on: self.cluster, over: duration)
        }
    }
}
