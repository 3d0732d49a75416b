import Foundation
import Glibc
import Hummingbird
import HummingbirdTesting
import SpeedoCore
import SpeedoHTTP
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The HTTP ingestion API in-process, in front of a real mock Kafka cluster over TCP.
///
/// Its blocking steps (starting the cluster, waiting for it, reading the topic back) run on threads of their own:
/// on this 2-core machine the cooperative pool has two threads, and tests running in parallel rely on it.
final class IngestHTTPFixture: Sendable {
    let topic: String
    let publisher: ReadingPublisher
    let health: BrokerHealth
    let metrics = IngestHTTPMetrics()
    /// Declared last, so that it is released after the clients that talk to it.
    let cluster: MockCluster

    let deliveryTimeout: Duration

    /// `healthProbes`: how often `/healthz`'s probe asks the broker. Each probe is a request on the producer's
    /// connection, and librdkafka sends no more than `max.in.flight` requests at once on it: against a slowed broker,
    /// frequent probes take every slot and a reading waits unsent.
    static func make(
        deliveryTimeout: Duration = .seconds(5), properties: [(String, String)] = [],
        healthProbes: Duration = .milliseconds(100)
    ) async throws -> IngestHTTPFixture {
        try await runOnDedicatedThread(name: "speedo-test") {
            try IngestHTTPFixture(deliveryTimeout: deliveryTimeout, properties: properties, healthProbes: healthProbes)
        }
    }

    private init(
        deliveryTimeout: Duration, properties: [(String, String)], healthProbes: Duration
    ) throws(KafkaError) {
        self.deliveryTimeout = deliveryTimeout
        let cluster = try MockCluster()
        self.cluster = cluster
        topic = "http-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 3)
        publisher = try ReadingPublisher(
            configuration: KafkaConfiguration(
                bootstrapServers: cluster.bootstrapServers,
                properties: IngestHTTPService.producerDefaults(deliveryTimeout: deliveryTimeout) + properties),
            topic: topic)
        try publisher.waitForBrokers(timeout: .seconds(10))
        health = BrokerHealth(publisher: publisher, interval: healthProbes, initial: .reachable)
    }

    static let defaultMaximumBodySize = 1 << 20

    deinit {
        health.stop()
        _ = publisher.close(flushTimeout: .seconds(5))
    }

    func responder(maximumBodySize: Int = defaultMaximumBodySize, token: String? = nil) -> IngestHTTPResponder {
        IngestHTTPResponder(
            settings: .init(
                maximumBodySize: maximumBodySize, deliveryTimeout: deliveryTimeout, authentication: BearerTokenCheck(token: token),
                hosts: HTTPHostPolicy(listenHost: "127.0.0.1"), accessLog: false, brokers: cluster.bootstrapServers,
                topic: topic),
            publisher: publisher, health: health, metrics: metrics, notes: .standardError)
    }

    /// Runs `body` with a client connected over TCP to the server, listening on a free port of 127.0.0.1 and shut down
    /// gracefully afterwards.
    func withClient(
        maximumBodySize: Int = defaultMaximumBodySize, token: String? = nil, limits: HTTPConnectionLimits = .standard,
        _ body: @escaping @Sendable (IngestHTTPClient) async throws -> Void
    ) async throws {
        let server = try await IngestHTTPService.listen(
            host: "127.0.0.1", port: 0, responder: responder(maximumBodySize: maximumBodySize, token: token), limits: limits)
        let port = server.port
        do {
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                try await body(IngestHTTPClient(client: client, port: port))
            }
        } catch {
            try await server.shutDown()
            throw error
        }
        try await server.shutDown()
    }

    /// Every record on the topic (all partitions), read with a consumer of its own until the end of each partition.
    func recordsOnTopic() async throws -> [ConsumedRecord] {
        try await runOnDedicatedThread(name: "speedo-test") {
            try readTopic(self.topic, partitions: 3, on: self.cluster)
        }
    }

    func valuesOnTopic() async throws -> [String] {
        try await recordsOnTopic().map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }
}

extension TestClientProtocol {
    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers) { $0 }
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

/// Requests to the ingestion API over one keep-alive connection.
struct IngestHTTPClient: Sendable {
    let client: TestClient
    let port: Int

    /// Sends `requests` as written, in one go (pipelined), on a connection of its own, and returns everything the
    /// server sent until it closed the connection. Blocking socket calls, on a thread of their own.
    func exchangeRaw(_ requests: String, timeout: Duration = .seconds(20)) async throws -> String {
        try await runOnDedicatedThread(name: "speedo-test") { [port] in
            let descriptor = try LoopbackSocket.connect(port: port)
            defer { close(descriptor) }
            let bytes = Array(requests.utf8)
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw POSIXError(.EPIPE) }
                sent += count
            }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 100) > 0 else { continue }
                let count = recv(descriptor, &buffer, buffer.count, 0)
                guard count > 0 else { return String(decoding: received, as: UTF8.self) }
                received.append(contentsOf: buffer[..<count])
            }
            throw POSIXError(.ETIMEDOUT)
        }
    }

    func post(
        _ body: String, to uri: String = "/speed", contentType: String? = "application/json",
        headers extra: HTTPFields = [:]
    ) async throws -> TestClient.Response {
        var headers: HTTPFields = [:]
        if let contentType { headers[.contentType] = contentType }
        headers.append(contentsOf: extra)
        return try await client.execute(
            TestClient.Request(uri, method: .post, authority: "localhost", headers: headers, body: ByteBuffer(string: body)))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestClient.Response {
        try await client.execute(TestClient.Request(uri, method: .get, authority: "localhost", headers: headers))
    }
}

extension TestClient.Response {
    var headers: HTTPFields { head.headerFields }
    var text: String { body.map { String(buffer: $0) } ?? "" }
}

/// Epoch seconds a little in the past: valid under the "not in the future" rule whenever the test runs.
func recentEpoch(secondsAgo: Int = 60) -> Int {
    Int(Date().timeIntervalSince1970) - secondsAgo
}
