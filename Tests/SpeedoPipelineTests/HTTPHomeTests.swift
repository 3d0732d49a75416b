import Foundation
import Glibc
import SpeedoCore
import SpeedoHTTP
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Synchronization
import Testing

/// The three HTTP servers of speedo — the ingestion API (raw SwiftNIO), the gateway and the writer's metrics endpoint
/// (Hummingbird) — run in process through their engines as the commands run them, in front of a real mock cluster:
/// SpeedoHTTP makes them answer `/healthz`, `/metrics`, wrong methods and unknown paths alike, and stop alike when their
/// `StopRequest` is requested.
@Suite struct HTTPHomeTests {
    /// `/livez` of a consume command: 200 while its loop beats, 503 "stalled" with the reason once it has not for
    /// longer than the limit, 200 again when it beats.
    @Test func livezSaysStalledOnceTheLoopStopsTurning() async throws {
        let heartbeat = Heartbeat(limit: .milliseconds(300))
        let operations = MetricsResponder(endpoint: LatestMetrics(brokers: "b:1", topic: "t", heartbeat: heartbeat)).operations
        func live() -> (status: Int, body: String) {
            let answer = operations.answer(method: .get, path: "/livez", host: nil, origin: nil, authorization: nil)
            return (answer?.status.code ?? 0, String(decoding: answer?.body ?? [], as: UTF8.self))
        }
        #expect(live() == (200, #"{"status":"alive"}"#))
        try await Task.sleep(for: .milliseconds(500))
        let stalled = live()
        #expect(stalled.status == 503, "\(stalled.body)")
        #expect(stalled.body.contains(#""status":"stalled""#) && stalled.body.contains("has not turned for"), "\(stalled.body)")
        heartbeat.beat()
        #expect(live().status == 200)
    }

    @Test func everyServerAnswersItsOperationsAndStopsTheSameWay() async throws {
        let cluster = try await runOnDedicatedThread(name: "speedo-test") { () throws -> MockCluster in
            let cluster = try MockCluster()
            try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 1)
            return cluster
        }
        let topic = "home-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 1)
        let connection = try ConnectionSettings.resolve(
            brokersFlag: cluster.bootstrapServers, databaseURLFlag: nil, topicFlag: topic, kafkaPropertyArguments: [],
            environment: [:], devStack: nil)
        let address = HTTPListenAddress(host: "127.0.0.1", port: 0, given: "127.0.0.1:0", option: "--listen")
        let hosts = HTTPHostPolicy(listenHost: "127.0.0.1")

        let ingest = HomeServer("ingest") { stop, notes in
            let outcome = try await IngestHTTPService.run(
                connection: connection,
                publishing: PublishingSettings(partitions: 1, connectTimeout: .seconds(60)),
                listen: address, limits: .standard,
                responder: IngestHTTPResponder.Settings(
                    maximumBodySize: 1 << 20, deliveryTimeout: .seconds(5), authentication: .none, hosts: hosts,
                    accessLog: false, brokers: connection.brokers.value, topic: topic),
                stop: stop, notes: notes)
            #expect(outcome.undelivered == 0)
        }
        let gateway = HomeServer("gateway") { stop, notes in
            try await GatewayService.run(
                connection: connection, listen: address,
                server: GatewayServer.Settings(
                    admission: GatewayAdmission(authentication: .none, hosts: hosts), pingInterval: .seconds(30),
                    closeTimeout: .seconds(2), limits: .standard),
                maxLag: .seconds(2), connectTimeout: .seconds(60), stop: stop, notes: notes)
        }
        let writerMetrics = HomeServer("writer's metrics") { stop, notes in
            let metrics = HistoryMetrics(brokers: cluster.bootstrapServers, topic: topic, heartbeat: Heartbeat())
            let finished = try await metrics.serving(
                on: HTTPListenAddress(host: "127.0.0.1", port: 0, given: "127.0.0.1:0", option: "--metrics-listen"),
                notes: notes,
                while: {
                    // What the pump says once it reached PostgreSQL and the brokers.
                    metrics.recordAvailable()
                    await stop.requested()
                    return "the writer's work ended"
                })
            #expect(finished == "the writer's work ended")
        }

        for server in [ingest, gateway, writerMetrics] {
            let port = try await server.start()
            let name = server.name

            // /healthz: the same JSON fields and status on every server (the gateway once it has read speed-latest to
            // its end, the writer once it reached PostgreSQL and the brokers).
            do {
                var health = try await HomeServer.get(port, "/healthz")
                let deadline = ContinuousClock.now + .seconds(20)
                while health.status != 200, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    health = try await HomeServer.get(port, "/healthz")
                }
                #expect(health.status == 200, "\(name): \(health.text)")
                #expect(health.header("Content-Type") == "application/json", "\(name)")
                let fields = try #require(
                    try JSONSerialization.jsonObject(with: Data(health.body.utf8)) as? [String: Any], "\(name): \(health.body)")
                #expect(fields["status"] as? String == "ok", "\(name): \(health.body)")
                #expect(fields["brokers"] as? String == cluster.bootstrapServers, "\(name): \(health.body)")
                #expect(fields["message"] == nil, "\(name): \(health.body)")

                // /readyz is /healthz by its Kubernetes name; /livez says the process answers.
                let ready = try await HomeServer.get(port, "/readyz")
                #expect(ready.status == 200, "\(name): \(ready.text)")
                #expect(ready.body == health.body, "\(name)")
                let live = try await HomeServer.get(port, "/livez")
                #expect(live.status == 200, "\(name): \(live.text)")
                #expect(live.header("Content-Type") == "application/json", "\(name)")
                #expect(live.body == #"{"status":"alive"}"#, "\(name): \(live.body)")
                #expect(try await HomeServer.get(port, "/livez", method: "POST").status == 405, "\(name)")
            }

            // Errors: one body, one set of codes.
            let missing = try await HomeServer.get(port, "/nowhere")
            #expect(missing.status == 404, "\(name)")
            #expect(missing.header("Content-Type") == "application/json", "\(name)")
            #expect(missing.body.hasPrefix(#"{"error":"not-found","message":"no such resource; "#), "\(name): \(missing.body)")
            let posted = try await HomeServer.get(port, "/metrics", method: "POST")
            #expect(posted.status == 405, "\(name)")
            #expect(posted.header("Allow") == "GET", "\(name)")
            #expect(posted.body == #"{"error":"method-not-allowed","message":"this resource accepts GET only"}"#, "\(name)")

            // /metrics: Prometheus' text, with the requests counted under the same labels.
            let metrics = try await HomeServer.get(port, "/metrics")
            #expect(metrics.status == 200, "\(name)")
            #expect(metrics.header("Content-Type") == HTTPReply.prometheusContentType, "\(name)")
            for sample in [
                #"speedo_http_requests_total{route="other",status="404"} 1"#,
                #"speedo_http_requests_total{route="/metrics",status="405"} 1"#,
                #"speedo_http_requests_total{route="/livez",status="405"} 1"#,
            ] {
                #expect(metrics.body.split(separator: "\n").contains { $0 == sample }, "\(name): missing \(sample) in\n\(metrics.body)")
            }

            // Stopping: the stop request alone ends the engine; an idle keep-alive connection is closed, and nothing
            // listens on the port any more.
            let (idle, idleAnswer) = try await runOnDedicatedThread(name: "speedo-test") { () throws -> (Int32, String) in
                let descriptor = try LoopbackSocket.connect(port: port)
                LoopbackSocket.send(descriptor, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return (descriptor, LoopbackSocket.receive(descriptor, timeout: .seconds(20)))
            }
            defer { close(idle) }
            #expect(idleAnswer.hasPrefix("HTTP/1.1 200"), "\(name): \(idleAnswer)")
            let stopping = ContinuousClock.now
            try await server.stopAndWait()
            let stopped = ContinuousClock.now - stopping
            #expect(
                try await runOnDedicatedThread { LoopbackSocket.waitForClose(idle, timeout: .seconds(15)) },
                "\(name): the idle connection stayed open after a stop that took \(stopped)")
            #expect(try await !HomeServer.answers(port, naming: cluster.bootstrapServers), "\(name) still answers")
            #expect(server.notes.contains { $0.contains("http://127.0.0.1:\(port)") }, "\(name): \(server.notes)")
        }
    }
}

/// One server run by its engine in a task of its own, with its own stop request and the notes it wrote.
private final class HomeServer: Sendable {
    let name: String
    let stop = StopRequest()
    private let run: @Sendable (StopRequest, Notes) async throws -> Void
    private let written = Mutex<[String]>([])
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(_ name: String, run: @escaping @Sendable (StopRequest, Notes) async throws -> Void) {
        self.name = name
        self.run = run
    }

    var notes: [String] { written.withLock { $0 } }

    /// Starts the engine; returns the port it listens on, from its notes.
    func start() async throws -> Int {
        let notes = Notes { [self] line in written.withLock { $0.append(line) } }
        task.withLock { $0 = Task { [run, stop] in try await run(stop, notes) } }
        var port: Int?
        // Generous: under a full parallel run the engine's task may wait long for a thread; what this suite proves is
        // how the servers answer and stop, not how fast they start.
        try await waitUntil("\(name) listens", timeout: .seconds(90)) {
            port = self.notes.lazy.compactMap { line -> Int? in
                guard let range = line.firstRange(of: "http://127.0.0.1:") else { return nil }
                return Int(line[range.upperBound...].prefix { $0.isNumber })
            }.first
            return port != nil
        }
        return try #require(port)
    }

    /// Requests the stop and waits for the engine to return (within 20 s).
    func stopAndWait() async throws {
        stop.request()
        let running = try #require(task.withLock { $0 })
        let ended = Atomic<Bool>(false)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            if !ended.load(ordering: .acquiring) { Issue.record("\(self.name) did not stop within 20 s of its stop request") }
        }
        defer { watchdog.cancel() }
        try await running.value
        ended.store(true, ordering: .releasing)
    }

    struct Answer {
        var status: Int
        var head: String
        var body: String
        var text: String { head + "\r\n\r\n" + body }

        func header(_ name: String) -> String? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
    }

    /// Whether the server on `port` still answers `/healthz` naming `marker` (its brokers). A refused connection is the
    /// usual no; checking the answer too keeps the test true when, in a full parallel run, another test's listener has
    /// meanwhile been given the freed port.
    static func answers(_ port: Int, naming marker: String) async throws -> Bool {
        try await runOnDedicatedThread(name: "speedo-test") {
            guard let descriptor = try? LoopbackSocket.connect(port: port) else { return false }
            defer { close(descriptor) }
            LoopbackSocket.send(descriptor, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return LoopbackSocket.receive(descriptor, timeout: .seconds(5), untilClosed: true).contains(marker)
        }
    }

    /// One request with curl (an independent client), its answer with the head.
    static func get(_ port: Int, _ path: String, method: String = "GET") async throws -> Answer {
        let raw = try await runProgram(
            ["curl", "-sS", "-i", "--max-time", "20", "-X", method, "http://127.0.0.1:\(port)\(path)"]
        ).stdout
        let parts = raw.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Answer(status: status, head: head, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
