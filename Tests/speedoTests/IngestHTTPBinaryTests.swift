import Foundation
import SpeedoCore
import SpeedoKafka
import SpeedoPipeline
import SpeedoRuntime
import SpeedoTestSupport
import Testing

@testable import speedo

/// The real binary serving HTTP, driven with curl, stopped with SIGTERM. The waiting happens on threads of their
/// own (`blocking`), so that this test does not hold one of the cooperative pool's two threads for seconds.
@Suite(.programTurns) struct IngestHTTPBinaryTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
    func curlPostsToTheRealServerAndSigtermFlushes() async throws {
        let cluster = try await blocking { try MockCluster() }
        let topic = "binary-http-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 1)
        let directory = try TemporaryDirectory()
        let tokenFile = directory.path + "/token"
        try "  e2e-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)

        let server = try ServerProcess(arguments: [
            "ingest", "--listen", "127.0.0.1:0", "-b", cluster.bootstrapServers, "-t", topic,
            "--token-file", tokenFile, "--access-log",
        ])
        let address = try await blocking { try server.waitForListeningAddress() }
        #expect(server.stderr.contains("publishing to \(topic) at \(cluster.bootstrapServers)"))

        let ts = Int(Date().timeIntervalSince1970) - 10
        let posted = try await curl([
            "-H", "Authorization: Bearer e2e-token", "-H", "Content-Type: application/x-ndjson",
            "--data-binary", "{\"sensor_id\":\"e2e\",\"speed\":88,\"ts\":\(ts)}\n{\"sensor_id\":\"e2e\",\"speed\":89,\"ts\":\(ts)}\n",
            "http://\(address)/speed",
        ])
        #expect(posted == "200 {\"accepted\":2,\"rejected\":[]}")
        #expect(try await curl(["http://\(address)/speed", "--data-binary", "{}", "-H", "Content-Type: application/json"])
            .hasPrefix("401 "))
        #expect(try await curl(["http://\(address)/healthz"]).hasPrefix("200 {\"brokers\""))

        let outcome = try await blocking { server.terminate() }
        #expect(!outcome.timedOut, "speedo did not stop within 30 s of SIGTERM")
        #expect(outcome.status == 0, "exit status after SIGTERM: \(outcome.status); stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("every accepted reading was delivered"))
        #expect(outcome.stderr.contains("POST /speed 200"), "access log missing: \(outcome.stderr)")
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("listening on http://") }.count == 1)

        let consumed = try await runProgram(
            ["kcat", "-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k %s\\n"], timeout: .seconds(30))
        #expect(consumed.stdout == """
            e2e {"sensor_id":"e2e","speed":88,"ts":\(ts).0}
            e2e {"sensor_id":"e2e","speed":89,"ts":\(ts).0}

            """)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl"))
    func sigtermLetsTheRequestInFlightFinishWithItsDelivery() async throws {
        let cluster = try await blocking { try MockCluster() }
        let topic = "binary-drain-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 1)
        let server = try ServerProcess(arguments: [
            "ingest", "--listen", "127.0.0.1:0", "-b", cluster.bootstrapServers, "-t", topic, "--delivery-timeout", "30s",
        ])
        let address = try await blocking { try server.waitForListeningAddress() }
        let reading = ["-H", "Content-Type: application/json", "--data-binary", #"{"sensor_id":"slow","speed":1}"#]
        #expect(try await curl(reading + ["http://\(address)/speed"]).hasPrefix("200 "))

        // Every broker answer now takes 6 s: the next request is still waiting for its acknowledgement when SIGTERM
        // arrives (sent once the server's metrics show it waiting), and must still get its 200.
        try cluster.setRoundTripTime(broker: 1, milliseconds: 6000)
        async let inFlight = curl(reading + ["http://\(address)/speed"])
        let handedOver = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < handedOver,
            try await !curl(["http://\(address)/metrics"]).contains("\nspeedo_http_requests_awaiting_delivery 1.0\n")
        {
            try await Task.sleep(for: .milliseconds(50))
        }
        let outcome = try await blocking { server.terminate() }
        #expect(try await inFlight == #"200 {"accepted":1,"rejected":[]}"#)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        try cluster.setRoundTripTime(broker: 1, milliseconds: 0)
        let consumed = try await runProgram(["kcat", "-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k\\n"])
        #expect(consumed.stdout == "slow\nslow\n")
    }

    /// The seed's path, end to end: the simulator POSTs batches to the real HTTP server, which publishes them.
    @Test func simulateViaPostsEveryReadingToTheIngestionAPI() async throws {
        let cluster = try await blocking { try MockCluster() }
        let topic = "binary-via-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 2)
        let server = try ServerProcess(arguments: ["ingest", "--listen", "127.0.0.1:0", "-b", cluster.bootstrapServers, "-t", topic])
        let address = try await blocking { try server.waitForListeningAddress() }
        let simulated = try await SpeedoBinary().run([
            "simulate", "--sensors", "3", "--rate", "50", "--count", "120", "--seed", "9", "--batch", "7",
            "--via", "http://\(address)/speed",
        ])
        #expect(simulated.status == 0, "\(simulated.stderr)")
        let consumed = try await runProgram(["kcat", "-C", "-b", cluster.bootstrapServers, "-t", topic, "-e", "-q", "-f", "%k\\n"])
        let keys = consumed.stdout.split(separator: "\n")
        #expect(keys.count == 120)
        #expect(Set(keys) == ["sensor-0", "sensor-1", "sensor-2"])
        #expect(try await blocking { server.terminate() }.status == 0)

        // Nothing listens there any more: retried with backoff, then named, exit 69.
        let unreachable = try await SpeedoBinary().run(
            ["simulate", "--sensors", "1", "--count", "1", "--via", "http://\(address)/speed"], timeout: .seconds(90))
        #expect(unreachable.status == 69, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot reach the ingestion API at http://\(address)/speed"), "\(unreachable.stderr)")
    }

    /// The issue's finding: one connection pipelining 239,080 `GET /metrics` without reading took the server from 40
    /// to 327 MB, six to 1.47 GB, and unauthenticated `/healthz` with --token-file to 297 MB.
    @Test func clientsThatNeverReadTheirAnswersDoNotGrowTheServer() async throws {
        let cluster = try await blocking { try MockCluster() }
        let topic = "binary-flood-\(UInt32.random(in: 0...UInt32.max))"
        try cluster.createTopic(name: topic, partitions: 1)
        let directory = try TemporaryDirectory()
        let tokenFile = directory.path + "/token"
        try "flood-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: [
            "ingest", "--listen", "127.0.0.1:0", "-b", cluster.bootstrapServers, "-t", topic, "--token-file", tokenFile,
        ])
        let address = try await blocking { try server.waitForListeningAddress() }
        let port = try #require(Int(address.split(separator: ":").last ?? ""))
        let before = try server.residentKiB()

        let requests = [
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer flood-token\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer flood-token\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer flood-token\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        ]
        let floods = try await withThrowingTaskGroup(of: (descriptor: Int32, sent: Int).self) { group in
            for request in requests {
                group.addTask {
                    try await blocking { try LoopbackSocket.flood(port: port, request: request, count: 250_000, stall: .seconds(2)) }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let during = try server.residentKiB()
        let sent = floods.map(\.sent)
        Swift.print("IngestHTTPBinaryTests: RSS \(before / 1024) MB before, \(during / 1024) MB with six clients not reading "
            + "(requests they got in: \(sent.map { grouped($0) }.joined(separator: ", ")))")
        #expect(sent.allSatisfy { $0 < 250_000 }, "the server read every request of a client that reads no answer: \(sent)")
        #expect(during < 100 * 1024, "RSS \(during) KiB with clients that do not read their answers")
        // Others are still served meanwhile.
        #expect(try await curl(["http://\(address)/healthz"]).hasPrefix("200 "))
        floods.forEach { close($0.descriptor) }
        let outcome = try await blocking { server.terminate() }
        #expect(outcome.status == 0 && !outcome.timedOut, "\(outcome.stderr)")
    }

    @Test func listeningOnEveryInterfaceWithoutATokenWarns() async throws {
        let cluster = try await blocking { try MockCluster() }
        let directory = try TemporaryDirectory()
        let tokenFile = directory.path + "/token"
        try "a-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        for (extra, warns) in [([String](), true), (["--token-file", tokenFile], false)] {
            let server = try ServerProcess(
                arguments: ["ingest", "--listen", "0.0.0.0:0", "-b", cluster.bootstrapServers, "-t", "exposed"] + extra)
            _ = try await blocking { try server.waitForListeningAddress() }
            let outcome = try await blocking { server.terminate() }
            let warned = outcome.stderr.contains(
                "speedo ingest: warning: listening on all interfaces (0.0.0.0) without a token: anyone who can reach this "
                    + "machine can use it; pass --token-file, or listen on 127.0.0.1")
            #expect(warned == warns, "\(extra): \(outcome.stderr)")
        }
    }

    @Test func listenFailuresAreNamed() async throws {
        let cluster = try await blocking { try MockCluster() }
        // The broker's own port is taken.
        let taken = cluster.bootstrapServers
        let outcome = try await SpeedoBinary().run(["ingest", "--listen", taken, "-b", taken, "--connect-timeout", "10s"])
        #expect(outcome.status == 69)
        #expect(outcome.stderr.contains("\(taken) is already in use"), "\(outcome.stderr)")
    }

    @Test func badListenAddressIsAUsageError() async throws {
        let outcome = try await SpeedoBinary().run(["ingest", "--listen", "localhost", "-b", "127.0.0.1:1"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("--listen takes host:port"))
        let missingToken = try await SpeedoBinary().run(["ingest", "--max-body", "1KiB", "--listen", "127.0.0.1:0", "--token-file", "/nonexistent/token", "-b", "127.0.0.1:1"])
        #expect(missingToken.status == 64)
        #expect(missingToken.stderr.contains("/nonexistent/token"))
    }

    /// "STATUS BODY"; `-w` appends the status code after the body.
    private func curl(_ arguments: [String]) async throws -> String {
        let outcome = try await runProgram(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}"] + arguments)
        let parts = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return "\(parts.last ?? "") \(parts.dropLast().joined(separator: "\n"))"
    }
}

private func blocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await runOnDedicatedThread(name: "speedo-test", body)
}

/// `speedo` running in the background, its stderr collected in a file.
// @unchecked Sendable: used by one test at a time, handed between its task and the threads it waits on.
private final class ServerProcess: @unchecked Sendable {
    private let process = Process()
    private let errors: TemporaryFile

    init(arguments: [String]) throws {
        errors = try TemporaryFile()
        process.executableURL = URL(fileURLWithPath: SpeedoBinary.path)
        process.arguments = arguments
        process.standardError = errors.handle
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.runTakingTurns()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    var stderr: String { errors.contents() }

    /// VmRSS from /proc.
    func residentKiB() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// host:port from the startup line.
    func waitForListeningAddress(timeout: Duration = .seconds(60)) throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("listening on http://") }) {
                return String(line.dropFirst("listening on http://".count).prefix { $0 != "," })
            }
            guard process.isRunning else { throw ServerFailure(message: "speedo exited early: \(stderr)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw ServerFailure(message: "no listening line within \(timeout): \(stderr)")
    }

    func terminate(timeout: Duration = .seconds(30)) -> (status: Int32, stderr: String, timedOut: Bool) {
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.05) }
        let timedOut = process.isRunning
        if timedOut { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return (process.terminationStatus, stderr, timedOut)
    }
}

private struct ServerFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
