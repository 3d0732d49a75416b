import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

/// The real `speedo gateway` binary: its startup line, a client end to end, and a clean close on SIGTERM.
@Suite(.programTurns) struct GatewayBinaryTests {
    private let speedo = SpeedoBinary(environment: [
        "XDG_STATE_HOME": "/nonexistent", "SPEEDO_BROKERS": nil, "SPEEDO_TOPIC": nil,
    ])

    @Test func sigtermSendsEveryClientACloseFrameAndExits0() async throws {
        let cluster = try await runOnDedicatedThread(name: "speedo-test") { () throws -> MockCluster in
            let cluster = try MockCluster()
            try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 2)
            return cluster
        }
        let state = latestState("sensor-1", speed: 33.5)
        try await runOnDedicatedThread(name: "speedo-test") {
            try produceRecords(
                [TestRecord(key: "sensor-1", value: text(of: state), timestampMs: state.reading.timestamp.microseconds / 1000)],
                to: ConnectionSettings.latestTopic, on: cluster)
        }
        let gateway = try BackgroundSpeedo(
            speedo, ["gateway", "-b", cluster.bootstrapServers, "--listen", "127.0.0.1:0", "--ping-interval", "10s"])
        try await waitUntil("the gateway listens") { Self.port(in: gateway.stderr) != nil }
        let listening = try #require(Self.port(in: gateway.stderr))
        let json = WebSocketProbe(url: "ws://127.0.0.1:\(listening)/ws/speed")
        let number = WebSocketProbe(url: "ws://127.0.0.1:\(listening)/ws/speed?format=number&sensor=sensor-1")
        #expect(try await json.waitForMessages(1) == [text(of: state)])
        #expect(try await number.waitForMessages(1) == ["33.5"])
        // Longer than the ping interval: an idle client that answers pings stays connected. The interval is also the
        // time a pong may take, generous because the tests run in parallel on two cores.
        try await Task.sleep(for: .seconds(11))
        #expect(!json.hasEnded && !number.hasEnded)

        kill(gateway.process.processIdentifier, SIGTERM)
        try await waitUntil("both clients were closed") { json.hasEnded && number.hasEnded }
        for probe in [json, number] {
            let close = try #require(probe.close, "the connection ended without a close frame")
            #expect(close.code == 1000 || close.code == 1001, "close code \(close.code)")
        }
        let status = try await gateway.wait(timeout: .seconds(15))
        #expect(status == 0, "\(gateway.stderr)")
        #expect(gateway.stderr.contains("stopped on a signal"), "\(gateway.stderr)")
    }

    @Test func listeningOnEveryInterfaceWithoutATokenWarns() async throws {
        let cluster = try await runOnDedicatedThread(name: "speedo-test") { () throws -> MockCluster in
            let cluster = try MockCluster()
            try cluster.createTopic(name: ConnectionSettings.latestTopic, partitions: 1)
            return cluster
        }
        let gateway = try BackgroundSpeedo(speedo, ["gateway", "-b", cluster.bootstrapServers, "--listen", "0.0.0.0:0"])
        try await waitUntil("the gateway listens") { gateway.stderr.contains("listening on http://0.0.0.0:") }
        kill(gateway.process.processIdentifier, SIGTERM)
        _ = try await gateway.wait(timeout: .seconds(15))
        #expect(
            gateway.stderr.contains("speedo gateway: warning: listening on all interfaces (0.0.0.0) without a token"),
            "\(gateway.stderr)")
    }

    /// From "listening on http://127.0.0.1:PORT (…".
    private static func port(in stderr: String) -> Int? {
        guard let range = stderr.firstRange(of: "listening on http://127.0.0.1:") else { return nil }
        return Int(stderr[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func badOptionsAreUsageErrors() async throws {
        for arguments in [
            ["--listen", "nowhere"], ["--allow-origin", "dash.example.com"], ["--max-lag", "0s"],
            ["--ping-interval", "soon"], ["--token-file", "/nonexistent/token"], ["--allow-host", "a b"],
            ["--idle-timeout", "0s"], ["--header-timeout", "forever"], ["--max-connections", "0"],
        ] {
            let run = try await speedo.run(["gateway", "-b", "127.0.0.1:1"] + arguments, timeout: .seconds(30))
            #expect(run.status == 64, "\(arguments): \(run.stderr)")
        }
    }
}
