import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SpeedoCore
import SpeedoHTTP
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// `speedo gateway` in-process against a real mock cluster, with real WebSocket clients on loopback.
@Suite(.serialized) struct GatewayTests {
    @Test func aClientGetsEverySensorsLatestStateThenEachUpdate() async throws {
        let fixture = try await GatewayFixture.make()
        let old = latestState("beta", speed: 10, secondsAgo: 5)
        let newest = [latestState("beta", speed: 12.5, secondsAgo: 2), latestState("alpha", speed: 80)]
        try await fixture.produce([old] + newest)
        try await waitUntil("the hub has both sensors") { fixture.hub.sensorCount == 2 }
        try await fixture.withServer { port, _ in
            let probe = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed")
            // The snapshot: one message per sensor, its newest state only, by sensor id.
            let snapshot = try await probe.waitForMessages(2)
            #expect(snapshot == [text(of: newest[1]), text(of: newest[0])])

            let update = latestState("beta", speed: 99.25, secondsAgo: 0)
            try await fixture.produce([update])
            let all = try await probe.waitForMessages(3)
            #expect(all.last == text(of: update))
            #expect(all.count == 3)
            probe.disconnect()
        }
    }

    @Test func queryParametersChooseSensorsAndTheFormat() async throws {
        let fixture = try await GatewayFixture.make()
        try await fixture.produce([
            latestState("truck-1", speed: 50), latestState("truck-2", speed: 60), latestState("car-1", speed: 70),
            latestState("bike", speed: 20.5),
        ])
        try await waitUntil("the hub has every sensor") { fixture.hub.sensorCount == 4 }
        try await fixture.withServer { port, client in
            let base = "ws://127.0.0.1:\(port)/ws/speed"
            let named = WebSocketProbe(url: base + "?sensor=bike&sensor=car-1")
            let globbed = WebSocketProbe(url: base + "?sensors=truck-*")
            let number = WebSocketProbe(url: base + "?format=number&sensor=bike")
            #expect(try await named.waitForMessages(2).map(sensorID) == ["bike", "car-1"])
            #expect(try await globbed.waitForMessages(2).map(sensorID) == ["truck-1", "truck-2"])
            #expect(try await number.waitForMessages(1) == ["20.5"])

            try await fixture.produce([
                latestState("truck-3", speed: 1), latestState("car-1", speed: 2), latestState("bike", speed: 0),
            ])
            #expect(try await named.waitForMessages(4).dropFirst(2).map(sensorID) == ["car-1", "bike"])
            #expect(try await globbed.waitForMessages(3).last.map(sensorID) == "truck-3")
            _ = try await number.waitForMessages(2)
            try await fixture.produce([latestState("bike", speed: 1000)])
            #expect(try await named.waitForMessages(5).last.map(sensorID) == "bike")
            // Always a number, never an empty or non-numeric payload.
            let numbers = try await number.waitForMessages(3)
            #expect(numbers == ["20.5", "0", "1000"])
            #expect(numbers.allSatisfy { Double($0)?.isFinite == true })
            try await Task.sleep(for: .milliseconds(200))
            #expect(named.messages.count == 5 && globbed.messages.count == 3 && number.messages.count == 3)

            for query in [
                "format=number", "format=number&sensor=a&sensor=b", "format=number&sensors=a*", "format=xml",
                "sensor=", "sensor=bad%20id", "sensors=", "sensors=a&sensors=b", "speed=1",
            ] {
                let refused = try await handshake(port: port, path: "/ws/speed?\(query)")
                #expect(refused.status == 400, "\(query) was accepted")
                #expect(refused.body.hasPrefix(#"{"error":"bad-query","message":""#), "\(refused.body)")
                let plain = try await client.get("/ws/speed?\(query)")
                #expect(plain.status == .badRequest && plain.text == refused.body)
            }
            let notUpgraded = try await client.get("/ws/speed?sensor=bike")
            #expect(notUpgraded.status == .upgradeRequired)
            for probe in [named, globbed, number] { probe.disconnect() }
        }
    }

    @Test func aClientThatStopsReadingIsClosedWithoutDelayingTheOthers() async throws {
        let fixture = try await GatewayFixture.make(maxLag: .milliseconds(300))
        try await fixture.withServer { port, client in
            let stalled = try await StalledWebSocket.open(port: port)
            #expect(stalled.responseHead.hasPrefix("HTTP/1.1 101"))
            let fast = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed")
            try await waitUntil("both clients are connected") { fixture.hub.connectionCount == 2 }

            // 100 sensors, 60 states each, over 2 s: far more than the stalled client's socket buffers hold.
            var states: [LatestState] = []
            for round in 0..<60 {
                for sensor in 0..<100 { states.append(latestState("s-\(sensor)", speed: Double(round))) }
            }
            try await fixture.produce(states, over: .seconds(2))
            let produced = ContinuousClock.now
            let finals = Set((0..<100).map { text(of: states[59 * 100 + $0]) })
            try await waitUntil("the fast client has every final state", timeout: .seconds(5)) {
                finals.isSubset(of: Set(fast.messages))
            }
            let delay = ContinuousClock.now - produced
            #expect(delay < .seconds(2), "the fast client got the last states \(delay) after they were produced")

            try await waitUntil("the stalled client was dropped") { fixture.hub.connectionCount == 1 }
            let (bytes, endedByServer) = try await stalled.drain(timeout: .seconds(10))
            #expect(endedByServer)
            #expect(bytes.count < states.count * 100, "the stalled client was sent everything (\(bytes.count) bytes)")

            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"speedo_gateway_clients_dropped_total{reason="slow"} 1"#), "\(metrics)")
            #expect(metrics.contains("speedo_gateway_connections 1.0"), "\(metrics)")
            let coalesced = metrics.split(separator: "\n").first { $0.hasPrefix("speedo_gateway_updates_coalesced_total ") }
            #expect((coalesced?.split(separator: " ").last).flatMap { Int($0) } ?? 0 > 0, "\(metrics)")
            fast.disconnect()
        }
    }

    /// Three hundred clients in this process, not the thousand `bench/gateway.sh` runs in processes of their own: each
    /// costs two descriptors here, and Foundation's `Process.run()`, which other tests of the run call meanwhile, lists
    /// /proc/self/fd copying each entry's whole 256-byte name, reading past the directory buffer once the listing fills
    /// it (about 1,350 descriptors). With a thousand, a full run crashed so (SIGSEGV in `Process.run()`).
    @Test func manyClientsAllReceiveAnUpdate() async throws {
        let fixture = try await GatewayFixture.make()
        try await fixture.produce([latestState("gauge", speed: 1)])
        try await waitUntil("the hub has the sensor") { fixture.hub.sensorCount == 1 }
        try await fixture.withServer { port, _ in
            let probes = (0..<300).map { _ in WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed") }
            try await waitUntil("every client got the snapshot", timeout: .seconds(60)) {
                probes.allSatisfy { $0.messages.count == 1 }
            }
            #expect(fixture.hub.connectionCount == 300)
            let update = latestState("gauge", speed: 42)
            try await fixture.produce([update])
            try await waitUntil("every client got the update", timeout: .seconds(30)) {
                probes.allSatisfy { $0.messages.count == 2 }
            }
            #expect(probes.allSatisfy { $0.messages.last == text(of: update) })
            for probe in probes { probe.disconnect() }
            try await waitUntil("every client is gone", timeout: .seconds(30)) { fixture.hub.connectionCount == 0 }
        }
    }

    @Test func theTokenGuardsTheSocketAndTheMetricsButNotTheHealthOrThePage() async throws {
        let fixture = try await GatewayFixture.make(token: "s3cret")
        try await fixture.withServer { port, client in
            let refused = try await handshake(port: port, path: "/ws/speed")
            #expect(refused.status == 401)
            #expect(refused.body.contains("needs a bearer token"), "\(refused.body)")
            #expect(try await handshake(port: port, path: "/ws/speed?token=s3cre").status == 401)
            let wrongHeader = try await handshake(port: port, path: "/ws/speed?token=s3cret", headers: ["Authorization: Bearer nope"])
            #expect(wrongHeader.status == 401)
            #expect(try await client.get("/ws/speed").status == .unauthorized)
            #expect(try await client.get("/metrics").status == .unauthorized)
            #expect(try await client.get("/metrics", headers: [.authorization: "Bearer s3cret"]).status == .ok)
            #expect(try await client.get("/healthz").status == .ok)
            #expect(try await client.get("/").status == .ok)

            try await fixture.produce([latestState("a", speed: 3)])
            let byQuery = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed?token=s3cret")
            let byHeader = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed", headers: [.authorization: "Bearer s3cret"])
            #expect(try await byQuery.waitForMessages(1).map(sensorID) == ["a"])
            #expect(try await byHeader.waitForMessages(1).map(sensorID) == ["a"])
            byQuery.disconnect()
            byHeader.disconnect()
        }
    }

    @Test func browsersConnectOnlyFromAllowedOrigins() async throws {
        let sameOrigin = try await GatewayFixture.make()
        try await sameOrigin.withServer { port, client in
            let foreign = try await handshake(port: port, path: "/ws/speed", headers: ["Origin: http://evil.example"])
            #expect(foreign.status == 403)
            #expect(foreign.body.contains("--allow-origin http://evil.example"), "\(foreign.body)")
            #expect(try await handshake(port: port, path: "/ws/speed", headers: ["Origin: http://127.0.0.1:\(port)"]).status == 101)
        }

        let listed = try await GatewayFixture.make(allowedOrigins: ["https://dash.example/"])
        try await listed.withServer { port, client in
            for origin in ["http://127.0.0.1:\(port + 1)", "https://dash.example.evil", "null"] {
                let refused = try await handshake(port: port, path: "/ws/speed", headers: ["Origin: \(origin)"])
                #expect(refused.status == 403, "\(origin) was let in")
            }
            // The gateway's own page still connects when other sites are allowed.
            #expect(try await handshake(port: port, path: "/ws/speed", headers: ["Origin: http://127.0.0.1:\(port)"]).status == 101)
            #expect(try await handshake(port: port, path: "/ws/speed", headers: ["Origin: https://DASH.example"]).status == 101)
            #expect(try await handshake(port: port, path: "/ws/speed").status == 101)
            try await listed.produce([latestState("a", speed: 3)])
            // swift-websocket's client sends an Origin of its own, ws://HOST, which no browser page has.
            let library = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed")
            #expect(try await library.waitForMessages(1).count == 1)
            library.disconnect()
        }
    }

    /// The issue's finding: `Host: evil.example` with `Origin: http://evil.example` was upgraded (DNS rebinding).
    @Test func foreignHostsAreRefusedOnEveryPath() async throws {
        let fixture = try await GatewayFixture.make()
        try await fixture.withServer { port, client in
            let rebinding = try await handshake(
                port: port, path: "/ws/speed", host: "evil.example", headers: ["Origin: http://evil.example"])
            #expect(rebinding.status == 421)
            #expect(rebinding.body.contains(#""error":"host-not-allowed""#), "\(rebinding.body)")
            #expect(rebinding.body.contains("--allow-host evil.example"), "\(rebinding.body)")
            for (path, host) in [("/", "evil.example:\(port)"), ("/healthz", "evil.example")] {
                let answer = try await runOnDedicatedThread(name: "speedo-test") {
                    let descriptor = try LoopbackSocket.connect(port: port)
                    defer { close(descriptor) }
                    LoopbackSocket.send(descriptor, "GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                    return LoopbackSocket.receive(descriptor, timeout: .seconds(5))
                }
                #expect(answer.hasPrefix("HTTP/1.1 421 "), "\(path): \(answer)")
            }

            // The normal clients: by address, by localhost, and the page's own origin.
            #expect(try await client.get("/").status == .ok)
            #expect(try await handshake(port: port, path: "/ws/speed").status == 101)
            #expect(try await handshake(port: port, path: "/ws/speed", host: "localhost:\(port)",
                headers: ["Origin: http://localhost:\(port)"]).status == 101)
        }

        let named = try await GatewayFixture.make(allowedHosts: ["dash.example"])
        try await named.withServer { port, _ in
            let allowed = try await handshake(
                port: port, path: "/ws/speed", host: "dash.example:\(port)", headers: ["Origin: http://dash.example:\(port)"])
            #expect(allowed.status == 101)
            let other = try await handshake(port: port, path: "/ws/speed", host: "evil.example")
            #expect(other.status == 421)
        }
    }

    @Test func healthFollowsTheFeedAndMetricsCountTheTraffic() async throws {
        let fixture = try await GatewayFixture.make()
        try await fixture.produce([latestState("a", speed: 3), latestState("b", speed: 4)])
        try await fixture.withServer { port, client in
            let healthy = try await client.get("/healthz")
            #expect(healthy.status == .ok)
            #expect(healthy.text.contains(#""status":"ok""#) && healthy.text.contains(#""topic":"speed-latest""#))

            let probe = WebSocketProbe(url: "ws://127.0.0.1:\(port)/ws/speed")
            _ = try await probe.waitForMessages(2)
            _ = try await client.get("/nowhere")
            let metrics = try await client.get("/metrics")
            #expect(metrics.headers[.contentType] == HTTPReply.prometheusContentType)
            let lines = Set(metrics.text.split(separator: "\n").map(String.init))
            for expected in [
                "speedo_gateway_connections 1.0", "speedo_gateway_messages_sent_total 2",
                #"speedo_gateway_states_received_total{outcome="valid"} 2"#,
                #"speedo_http_requests_total{route="/ws/speed",status="101"} 1"#,
                #"speedo_http_requests_total{route="other",status="404"} 1"#,
            ] {
                #expect(lines.contains(expected), "missing \(expected) in:\n\(metrics.text)")
            }
            probe.disconnect()

        }

        // Brokers that never answer: not healthy, and the answer says why.
        let hub = GatewayHub(maxLag: .seconds(2), metrics: GatewayMetrics())
        let follower = try hub.follow(
            KafkaConfiguration(bootstrapServers: "127.0.0.1:1"), connectTimeout: .seconds(60), notes: .standardError,
            gaveUp: { Issue.record("gave up on the brokers: \($0)") })
        defer { follower.stop() }
        let responder = GatewayResponder(
            admission: fixture.admission, hub: hub, brokers: "127.0.0.1:1", topic: GatewayHub.topic)
        try await HTTPServing.makeApplication(host: "127.0.0.1", port: 0, responder: responder).test(.router) { client in
            let starting = try await client.get("/healthz")
            #expect(starting.status == .serviceUnavailable)
            #expect(starting.text.contains(#""brokers":"127.0.0.1:1""#), "\(starting.text)")
            #expect(starting.text.contains(#""status":"starting""#) || starting.text.contains(#""status":"unavailable""#))
        }
    }

    /// The delay of the states that arrive once the feed has caught up, at `/metrics` as `watch` shows it in its status
    /// line: none before the first (not a 0), and a state whose record is 300 ms old when it is produced shows at least
    /// that.
    @Test func theDeliveryLagOfLiveStatesIsAtMetrics() async throws {
        let fixture = try await GatewayFixture.make()
        try await waitUntil("the follower caught up") { fixture.hub.feed == .caughtUp }
        try await fixture.withServer { _, client in
            let before = try await client.get("/metrics").text
            #expect(!before.contains("speedo_gateway_delivery_lag_seconds"), "\(before)")
            try await fixture.produce([latestState("a", speed: 3, secondsAgo: 0.3)])
            try await waitUntil("the state arrived") { fixture.hub.sensorCount == 1 }
            let metrics = try await client.get("/metrics").text
            for quantile in ["0.5", "0.99"] {
                let name = #"speedo_gateway_delivery_lag_seconds{quantile="\#(quantile)"} "#
                let line = metrics.split(separator: "\n").first { $0.hasPrefix(name) }
                let seconds = line.flatMap { Double($0.dropFirst(name.count)) }
                #expect(seconds.map { $0 >= 0.3 && $0 < 30 } == true, "\(name)in:\n\(metrics)")
            }
        }
    }

    /// `/livez` of the gateway: alive while the follower's loop turns; 503 "stalled" once it has not for longer than
    /// the heartbeat's limit.
    @Test func livezSaysStalledOnceTheFollowerStopsTurning() async throws {
        let cluster = try await runOnDedicatedThread(name: "speedo-test") { () throws -> MockCluster in
            let cluster = try MockCluster()
            try cluster.createTopic(name: GatewayHub.topic, partitions: 1)
            return cluster
        }
        let hub = GatewayHub(maxLag: .seconds(2), metrics: GatewayMetrics(), heartbeat: Heartbeat(limit: .milliseconds(500)))
        let follower = try hub.follow(
            KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), connectTimeout: .seconds(60),
            notes: .standardError, gaveUp: { Issue.record("gave up on the brokers: \($0)") })
        let responder = GatewayResponder(
            admission: GatewayAdmission(
                authentication: BearerTokenCheck(token: nil),
                hosts: HTTPHostPolicy(listenHost: "127.0.0.1", allowedHosts: [], allowedOrigins: [])),
            hub: hub, brokers: cluster.bootstrapServers, topic: GatewayHub.topic)
        func live() -> (status: Int, body: String) {
            let answer = responder.operations.answer(method: .get, path: "/livez", host: nil, origin: nil, authorization: nil)
            return (answer?.status.code ?? 0, String(decoding: answer?.body ?? [], as: UTF8.self))
        }
        try await waitUntil("the follower caught up") { hub.feed == .caughtUp }
        try await Task.sleep(for: .seconds(1))
        #expect(live() == (200, #"{"status":"alive"}"#))
        follower.stop()
        try await Task.sleep(for: .seconds(1))
        let stalled = live()
        #expect(stalled.status == 503, "\(stalled.body)")
        #expect(stalled.body.contains("has not turned for"), "\(stalled.body)")
    }

    @Test func aStateKeyedByAnotherSensorIsCountedInvalidAndNotServed() async throws {
        let fixture = try await GatewayFixture.make()
        let state = latestState("a", speed: 3)
        // Keyed "b" like the valid state after it: the same partition, so it is read first.
        let records = [
            TestRecord(key: "b", value: text(of: state), timestampMs: state.reading.timestamp.milliseconds),
            TestRecord(key: "b", value: text(of: latestState("b", speed: 4))),
        ]
        try await runOnDedicatedThread(name: "speedo-test") {
            try produceRecords(records, to: GatewayHub.topic, on: fixture.cluster)
        }
        try await waitUntil("the valid state arrived") { fixture.hub.sensorCount == 1 }
        try await fixture.withServer { _, client in
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains(#"speedo_gateway_states_received_total{outcome="invalid"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"speedo_gateway_states_received_total{outcome="valid"} 1"#), "\(metrics)")
        }
    }

    /// The page, its script and its style, each with a policy that forbids inline script, `eval` and anything from
    /// elsewhere; the page carries `watch`'s speed bands. (What the page does is shown in a browser: GatewayPageTests.)
    @Test func thePageIsServedWithAPolicyThatForbidsInlineScript() async throws {
        let fixture = try await GatewayFixture.make(token: "sesame")
        try await fixture.withServer { _, client in
            for (path, type) in [
                ("/", "text/html"), ("/speedo.js", "text/javascript"), ("/speedo.css", "text/css"),
            ] {
                let answer = try await client.get(path)
                #expect(answer.status == .ok, "\(path)")
                #expect(answer.headers[.contentType] == type + "; charset=utf-8")
                let policy = answer.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(policy.contains("script-src 'self';") && policy.contains("default-src 'none'"), "\(policy)")
                #expect(!policy.contains("unsafe"), "\(policy)")
            }
            let page = try await client.get("/").text
            #expect(page.contains(#"<script src="/speedo.js" defer></script>"#))
            #expect(page.contains(#"data-slow-below="30" data-cruising-below="90" data-full-scale="160""#), "\(page)")
            #expect(!page.contains("{{") && !page.contains("<script>"))
            let script = try await client.get("/speedo.js").text
            #expect(!script.contains("innerHTML") && !script.contains("eval(") && !script.contains("new Function"))
        }
    }

    /// `GET /api/history`: each selected sensor's recent readings in time order, behind the token like `/ws/speed`,
    /// with a validated query.
    @Test func recentReadingsAreServedForThePageToDrawAtOnce() async throws {
        let fixture = try await GatewayFixture.make(token: "sesame")
        try await fixture.produce([
            latestState("truck-1", speed: 50, secondsAgo: 90), latestState("truck-1", speed: 51, secondsAgo: 30),
            latestState("truck-1", speed: 52.5, secondsAgo: 1), latestState("car-1", speed: 70, secondsAgo: 2),
            // Replayed: not newer than what the sensor has, so not added again.
            latestState("truck-1", speed: 50, secondsAgo: 90),
        ])
        try await waitUntil("the hub has both sensors") { fixture.hub.sensorCount == 2 }
        try await fixture.withServer { _, client in
            let all = try await client.get("/api/history?token=sesame")
            #expect(all.status == .ok)
            let sensors = try #require(
                (try JSONSerialization.jsonObject(with: Data(all.text.utf8)) as? [String: Any])?["sensors"] as? [[String: Any]])
            #expect(sensors.map { $0["sensor_id"] as? String } == ["car-1", "truck-1"])
            let truck = try #require(sensors.last?["readings"] as? [[Double]])
            #expect(truck.map { $0[1] } == [50, 51, 52.5])
            #expect(truck.map { $0[0] } == truck.map { $0[0] }.sorted())

            let recent = try await client.get("/api/history?sensors=truck-*&since=60s&token=sesame").text
            #expect(recent.contains(#"{"sensor_id":"truck-1","readings":[["#) && !recent.contains("car-1"), "\(recent)")
            #expect(recent.components(separatedBy: "],[").count == 2, "two readings in the last minute: \(recent)")

            #expect(try await client.get("/api/history").status == .unauthorized)
            for query in ["since=0s", "since=1h", "since=soon", "format=number", "sensors=", "speed=1"] {
                let refused = try await client.get("/api/history?token=sesame&\(query)")
                #expect(refused.status == .badRequest, "\(query)")
                #expect(refused.text.hasPrefix(#"{"error":"bad-query","message":""#), "\(refused.text)")
            }
            // The WebSocket takes no since=.
            #expect(try await client.get("/ws/speed?token=sesame&since=60s").status == .badRequest)
        }
    }
}

private func sensorID(_ message: String) -> String {
    (try? JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any])?["sensor_id"] as? String ?? "?"
}
